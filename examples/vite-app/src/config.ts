/** The coffer the page and the service worker share. */
export const COFFER_NAME = 'vite-app-example';
/** The one record this example shows. */
export const RECORD_ID = 'field-notes';
