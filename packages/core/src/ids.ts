/** A record's id (a UUID unless given at creation). */
export type RecordId = string & { readonly __brand: 'RecordId' };
/** A bucket's id, a UUID. */
export type BucketId = string & { readonly __brand: 'BucketId' };
/** An object version's id, a UUID. */
export type VersionId = string & { readonly __brand: 'VersionId' };
/** A file instance's id, a UUID. */
export type FileId = string & { readonly __brand: 'FileId' };
/** A multipart upload's id, a UUID. */
export type UploadId = string & { readonly __brand: 'UploadId' };

/** A new random UUID, typed as the id it will be. */
export const newId = <Id extends string>(): Id => crypto.randomUUID() as Id;
