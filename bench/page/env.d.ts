declare module 'pouchdb-browser' {
  interface PouchDatabase {
    putAttachment(docId: string, attachmentId: string, attachment: Blob, type: string): Promise<unknown>;
    destroy(): Promise<void>;
  }
  const PouchDB: new (name: string) => PouchDatabase;
  export default PouchDB;
}
