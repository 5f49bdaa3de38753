/**
 * A front end that installs `@coffer/core` and `@coffer/elements` like any other packages: it
 * opens a coffer, makes sure its record exists, and hands both to `<coffer-files>`. Stored
 * files get ordinary URLs (`file.url`), served by this app's service worker (src/sw.ts).
 */
import { type CofferRecord, openCoffer } from '@coffer/core';
import '@coffer/elements';
import { COFFER_NAME, RECORD_ID } from './config.js';

const registration =
  'serviceWorker' in navigator ? navigator.serviceWorker.register('/sw.js', { type: 'module' }) : undefined;

const coffer = await openCoffer({ name: COFFER_NAME });
const record: CofferRecord =
  (await coffer.records.getMany([RECORD_ID]))[0] ??
  (await coffer.records.create({ title: 'Field notes' }, { id: RECORD_ID }));

const files = document.querySelector('coffer-files')!;
files.coffer = coffer;
files.recordId = record.id;
document.querySelector('#status')!.textContent = `“${String(record.data.title)}”: add files below.`;

// For the console, and for the example's test.
Object.assign(window, { coffer, record, swReady: registration && navigator.serviceWorker.ready });
