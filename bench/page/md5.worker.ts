import { createMD5 } from 'hash-wasm';

/** What the standalone hashing worker is asked: hash a Blob, or the chunk rows of a stored file. */
export type Md5Job =
  | { kind: 'blob'; blob: Blob }
  | { kind: 'stored'; dbName: string; chunks: [string, number][] };

async function hashBlobs(blobs: AsyncIterable<Blob | ArrayBuffer>): Promise<string> {
  const md5 = await createMD5();
  for await (const blob of blobs) {
    if (blob instanceof ArrayBuffer) {
      md5.update(new Uint8Array(blob));
      continue;
    }
    const reader = blob.stream().getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) md5.update(next.value);
  }
  return `md5:${md5.digest('hex')}`;
}

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

async function* storedChunks(dbName: string, keys: [string, number][]): AsyncGenerator<Blob | ArrayBuffer> {
  const db = await request(indexedDB.open(dbName));
  try {
    for (const key of keys) {
      const row = (await request(db.transaction('chunks').objectStore('chunks').get(key))) as {
        data: Blob | ArrayBuffer;
      };
      yield row.data;
    }
  } finally {
    db.close();
  }
}

async function* one(blob: Blob) {
  yield blob;
}

self.onmessage = async (event: MessageEvent<Md5Job>) => {
  const job = event.data;
  const started = performance.now();
  const checksum = await hashBlobs(
    job.kind === 'blob' ? one(job.blob) : storedChunks(job.dbName, job.chunks),
  );
  self.postMessage({ ms: performance.now() - started, checksum });
};
