export { liveQuery } from 'dexie';
