import { createMD5 } from 'hash-wasm';

/** What the standalone hashing worker is asked: hash a Blob, or the chunk rows of a stored file. */
export type Md5Job =
  | { kind: 'blob'; blob: Blob }
  | { kind: 'stored'; dbName: string; chunks: [string, number][] }
  | { kind: 'profile'; blob: Blob; chunk: number }
  | { kind: 'warm' }
  | { kind: 'begin' }
  | { kind: 'end' }
  | ArrayBuffer;

/** Where a hashing pass over a Blob spends its time, in a worker: reading, and md5 over it. */
async function profile(blob: Blob, chunk: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const time = async (name: string, f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    out[name] = performance.now() - t;
  };
  const md5 = await createMD5();
  const readStream = async (hash: boolean) => {
    for (let offset = 0; offset < blob.size; offset += chunk) {
      const reader = blob
        .slice(offset, offset + chunk)
        .stream()
        .getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read())
        if (hash) md5.update(next.value);
    }
  };
  const readBuffer = async (hash: boolean) => {
    for (let offset = 0; offset < blob.size; offset += chunk) {
      const bytes = new Uint8Array(await blob.slice(offset, offset + chunk).arrayBuffer());
      if (hash) md5.update(bytes);
    }
  };
  await time('streamRead', () => readStream(false));
  await time('streamMd5', () => readStream(true));
  await time('bufferRead', () => readBuffer(false));
  await time('bufferMd5', () => readBuffer(true));
  const bytes = new Uint8Array(chunk);
  await time('md5Only', async () => {
    for (let offset = 0; offset < blob.size; offset += chunk) md5.update(bytes);
  });
  md5.digest('hex');
  return out;
}

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

/**
 * The stored chunk rows, fetched in one transaction; when they are Blobs, composed into one
 * Blob and read as one stream (the fastest plain way found to read them back).
 */
async function* storedChunks(dbName: string, keys: [string, number][]): AsyncGenerator<Blob | ArrayBuffer> {
  const db = await request(indexedDB.open(dbName));
  try {
    const store = db.transaction('chunks').objectStore('chunks');
    const rows = (await Promise.all(keys.map((key) => request(store.get(key))))) as {
      data: Blob | ArrayBuffer;
    }[];
    if (rows.every((row) => row.data instanceof Blob)) yield new Blob(rows.map((row) => row.data as Blob));
    else for (const row of rows) yield row.data;
  } finally {
    db.close();
  }
}

async function* one(blob: Blob) {
  yield blob;
}

/** The running md5 of bytes sent piece by piece (`begin`, ArrayBuffers, `end`), for sync-gather's `split`. */
let running: Awaited<ReturnType<typeof createMD5>> | undefined;

self.onmessage = async (event: MessageEvent<Md5Job>) => {
  const job = event.data;
  if (job instanceof ArrayBuffer) {
    running!.update(new Uint8Array(job));
    return;
  }
  if (job.kind === 'begin') {
    running = await createMD5();
    self.postMessage({ ready: true });
    return;
  }
  if (job.kind === 'end') {
    self.postMessage({ checksum: `md5:${running!.digest('hex')}` });
    return;
  }
  if (job.kind === 'warm') {
    (await createMD5()).digest('hex');
    self.postMessage({ ms: 0, checksum: '' });
    return;
  }
  if (job.kind === 'profile') {
    self.postMessage(await profile(job.blob, job.chunk));
    return;
  }
  const started = performance.now();
  const checksum = await hashBlobs(
    job.kind === 'blob' ? one(job.blob) : storedChunks(job.dbName, job.chunks),
  );
  self.postMessage({ ms: performance.now() - started, checksum });
};
