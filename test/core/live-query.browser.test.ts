import { it } from '../helpers/coffer.js';
import { liveQueryCases } from './live-query-cases.js';

// Dexie's liveQuery re-runs a read of record files, listings and buckets after every kind of
// write, in Chromium, with the bytes written by the worker. The node project runs the same cases.
liveQueryCases(it);
