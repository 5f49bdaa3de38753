/** The coffer the app keeps its records in: the same name in the page and the service worker. */
export const COFFER_NAME = 'coffer';
