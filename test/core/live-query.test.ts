import { it } from '../helpers/coffer.js';
import { liveQueryCases } from './live-query-cases.js';

// The same cases as live-query.browser.test.ts, on fake-indexeddb.
liveQueryCases(it);
