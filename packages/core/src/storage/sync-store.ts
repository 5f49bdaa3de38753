/**
 * The state of sync in IndexedDB, and the short transactions that change it: what a push
 * collects and commits, and the one transaction that applies a pulled journal entry. The rules
 * (the head of a key, the merge of two record changes) come from `model/sync-*.ts`; this
 * module only reads, decides with them and writes.
 *
 * @module
 */
import { Dexie, type Table } from 'dexie';
import { BucketLockedError, InvalidOperationError, NotFoundError, SyncError } from '../errors.js';
import type { BucketId, FileId, RecordId, VersionId } from '../ids.js';
import { assertFits } from '../model/limits.js';
import { buildEntries, copyJson, filesField, orderOf, type RecordData } from '../model/record.js';
import type { JournalOp, RecordOp, VersionOp } from '../model/sync-journal.js';
import {
  ancestorsOf,
  type ChangeNode,
  commonAncestor,
  type FieldConflict,
  isAncestor,
  type JsonValue,
  jsonEqual,
  mergeChangeId,
  mergeRecords,
  type RecordState,
  stripFiles,
} from '../model/sync-merge.js';
import { chooseHead, leaves, parentsFor, type VersionNode } from '../model/sync-versions.js';
import { toLimits } from './bucket-store.js';
import { deleteData, readBlob } from './chunks.js';
import { mapErrors } from './map-storage-error.js';
import {
  filledLazyFile,
  lazyFileRow,
  resized,
  startingWith,
  toHead,
  versionTables,
  writableFileRow,
} from './rows.js';
import type {
  BucketRow,
  CofferDb,
  FileRow,
  Flag,
  ObjectVersionRow,
  RecordRow,
  SyncChangeRow,
  SyncConflictRow,
  SyncInboxRow,
  SyncOutboxRow,
  SyncRecordRow,
  SyncUploadRow,
  SyncVersionRow,
} from './schema.js';
import { isLazyFile } from './schema.js';

/** Where a version's bytes already are on the remote: its key and S3 version id. */
export interface RemoteCopy {
  key: string;
  versionId: string;
}

/** A local version a push has to send, with the record that owns its bucket. */
export interface PendingVersion {
  row: ObjectVersionRow;
  recordId: RecordId;
  parents: string[];
  /** Already on the remote (a previous push stopped before its journal entry). */
  uploaded: SyncVersionRow | undefined;
  /** A version of the same bytes on the remote when the batch was collected, to copy. */
  copy: RemoteCopy | undefined;
  /** Its file instance as read when the batch was collected. */
  file: FileRow | undefined;
}

/**
 * The bytes of a pulled version, written (unreadable) before the apply; or, pulled with
 * `bodies: 'lazy'`, not fetched: the apply stores a file instance that names where they are.
 */
export type PulledContent =
  | { kind: 'written'; fileId: FileId; size: number; checksum: string }
  | { kind: 'linked'; fileId: FileId }
  | { kind: 'lazy'; fileId: FileId; size: number; checksum: string; remote: RemoteCopy };

/** What an apply did, for the report. */
export interface ApplyResult {
  versions: number;
  /** Record changes stored (the records move at {@link SyncStore.settle}). */
  records: number;
  /** Ops refused by local rules and kept in the inbox. */
  refused: number;
}

/** The persistent status of sync, readable from any tab. */
export interface SyncStatusRow {
  phase: 'idle' | 'pushing' | 'pulling' | 'offline' | 'error' | 'paused';
  filesToGo: number;
  bytesToGo: number;
  lastSuccess: number | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  updated: number;
}

const IDLE_STATUS: SyncStatusRow = {
  phase: 'idle',
  filesToGo: 0,
  bytesToGo: 0,
  lastSuccess: null,
  lastErrorCode: null,
  lastErrorMessage: null,
  updated: 0,
};

const flag = (value: boolean): Flag => (value ? 1 : 0);

/** Records a push captures per transaction. */
const CAPTURE_BATCH = 200;

/** Versions {@link SyncStore.toGo} reads at once: its memory stays bounded however many are unpushed. */
const COUNT_PAGE = 2_000;

/** `syncState` keys of records with pulled changes not yet settled. */
const UNSETTLED = 'unsettled:';

/** The stripped data of a record as a change carries it. */
const strip = (data: Record<string, unknown>): Record<string, unknown> =>
  stripFiles(copyJson(data)) as Record<string, unknown>;

/** Equal record data, key order aside (merges made elsewhere may order keys otherwise). */
const sameData = (a: Record<string, unknown>, b: Record<string, unknown>): boolean =>
  jsonEqual(a as JsonValue, b as JsonValue);

/**
 * What one apply reads once and writes back once, instead of once per version: the versions
 * already here, the file instances the entry's bytes are in, the buckets it touches (their
 * ownership checked, their size kept up to date), the version seq, the inbox's ids.
 */
interface ApplyScope {
  now: number;
  known: Set<string>;
  files: Map<FileId, FileRow | undefined>;
  buckets: Map<BucketId, { recordId: RecordId; row: BucketRow }>;
  resizedBuckets: Set<BucketId>;
  /** The last version seq taken; `undefined` until the first. */
  seq: number | undefined;
  inbox: Set<string>;
}

/** The working state of one record while an entry is applied. */
interface WorkingRecord {
  sync: SyncRecordRow;
  row: RecordRow | undefined;
  /** The data and deleted flag the record is to have (its `_files` still to be rebuilt). */
  data: Record<string, unknown>;
  deleted: boolean;
  /** Whether `data` is the state of `sync.head` (no local edit on top). */
  clean: boolean;
  touched: boolean;
  /** Removed here for good (a forced delete): stays absent unless an edit brings it back. */
  removed: boolean;
}

/**
 * Sync state of one coffer. Every method is one short transaction or a read; none awaits the
 * network. The engine calls them between its requests.
 */
export class SyncStore {
  /**
   * @param checkRecord - the local rule for record data (the records' JSON Schema check): a
   *   pulled record change it throws for goes to the inbox, as a refused write would.
   */
  constructor(
    private readonly db: CofferDb,
    private readonly settings: { location: string; storageClass: string },
    private readonly checkRecord: (data: RecordData) => void = () => undefined,
  ) {}

  private get applyTables() {
    const { db } = this;
    return [
      ...versionTables(db),
      db.records,
      db.recordRevisions,
      db.recordsBuckets,
      db.syncState,
      db.syncCheckpoints,
      db.syncVersions,
      db.syncRecords,
      db.syncChanges,
      db.syncConflicts,
      db.syncInbox,
    ];
  }

  // --- Small state ---

  /** This device's id, made at the first sync. */
  async deviceId(): Promise<string> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.syncState, async () => {
        const row = await db.syncState.get('device');
        if (typeof row?.value === 'string') return row.value;
        const id = crypto.randomUUID();
        await db.syncState.put({ key: 'device', value: id });
        return id;
      }),
    );
  }

  private async number(key: string): Promise<number> {
    const row = await this.db.syncState.get(key);
    return typeof row?.value === 'number' ? row.value : 0;
  }

  /** Take the next value of a counter kept in `syncState`; joins the caller's transaction. */
  private async next(key: string): Promise<number> {
    const value = (await this.number(key)) + 1;
    await this.db.syncState.put({ key, value });
    return value;
  }

  /** The stored status (idle before the first sync). */
  async status(): Promise<SyncStatusRow> {
    const row = await mapErrors(() => this.db.syncState.get('status'));
    return { ...IDLE_STATUS, ...((row?.value as Partial<SyncStatusRow> | undefined) ?? {}) };
  }

  /** Merge `patch` into the stored status. */
  async setStatus(patch: Partial<SyncStatusRow>): Promise<SyncStatusRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.syncState, async () => {
        const row = await db.syncState.get('status');
        const next = {
          ...IDLE_STATUS,
          ...((row?.value as Partial<SyncStatusRow> | undefined) ?? {}),
          ...patch,
          updated: Date.now(),
        };
        await db.syncState.put({ key: 'status', value: next });
        return next;
      }),
    );
  }

  // --- Push: versions ---

  /**
   * Local versions a push has to send, in `seq` order: those after `pushedSeq` in buckets a
   * record owns, that no sent journal entry holds yet. `scannedTo` is the last `seq` looked
   * at: once the versions found are sent, everything up to it is pushed.
   */
  async collectVersions(
    limit: number,
  ): Promise<{ pending: PendingVersion[]; scannedTo: number; done: boolean }> {
    const { db } = this;
    const tables = [db.objects, db.recordsBuckets, db.syncVersions, db.syncState, db.files];
    return mapErrors(() =>
      db.transaction('r', tables, async () => {
        const pushedSeq = await this.number('pushedSeq');
        const pending: PendingVersion[] = [];
        const owners = new Map<string, RecordId | undefined>();
        const dags = new Map<string, Map<string, string[]>>();
        let scannedTo = pushedSeq;
        let done = true;
        const rows = await db.objects
          .where('seq')
          .above(pushedSeq)
          .limit(limit * 4)
          .toArray();
        if (rows.length === limit * 4) done = false;
        for (const row of rows) {
          if (pending.length >= limit) {
            done = false;
            break;
          }
          scannedTo = row.seq;
          const sync = await db.syncVersions.get(row.versionId);
          if (sync && sync.state !== 'uploaded') continue;
          if (!owners.has(row.bucketId)) {
            const link = await db.recordsBuckets.where('bucketId').equals(row.bucketId).first();
            owners.set(row.bucketId, link?.recordId);
          }
          const recordId = owners.get(row.bucketId);
          if (recordId === undefined) continue;
          const dagKey = `${row.bucketId}\u0000${row.key}`;
          let dag = dags.get(dagKey);
          if (!dag) {
            dag = await this.keyParents(row.bucketId, row.key);
            dags.set(dagKey, dag);
          }
          pending.push({
            row,
            recordId,
            parents: dag.get(row.versionId) ?? [],
            uploaded: sync,
            copy: undefined,
            file: undefined,
          });
        }
        // The copies and file instances of the batch, in one read each instead of one per version.
        const sending = pending.filter((p) => !p.uploaded && p.row.fileId !== null);
        const [copyOf, files] = await Promise.all([
          this.copiesOf(sending.map((p) => [p.row.size, p.row.checksum as string])),
          db.files.bulkGet(sending.map((p) => p.row.fileId as FileId)),
        ]);
        sending.forEach((p, i) => {
          p.copy = copyOf.get(`${p.row.size}:${p.row.checksum}`);
          p.file = files[i];
        });
        return { pending, scannedTo, done };
      }),
    );
  }

  /**
   * The parents of every version of a key: stored ones for versions already synced, else the
   * leaves of the versions before it in local `seq` order.
   */
  private async keyParents(bucketId: BucketId, key: string): Promise<Map<string, string[]>> {
    const nodes = await this.keyNodes(bucketId, key);
    return new Map(nodes.map((node) => [node.versionId, [...node.parents]]));
  }

  private async keyNodes(
    bucketId: BucketId,
    key: string,
  ): Promise<(VersionNode & { row: ObjectVersionRow })[]> {
    const { db } = this;
    const rows = (await startingWith(db.objects, '[bucketId+key+rank]', bucketId, key).toArray()).reverse();
    const synced = await db.syncVersions.bulkGet(rows.map((row) => row.versionId));
    const nodes: (VersionNode & { row: ObjectVersionRow })[] = [];
    rows.forEach((row, index) => {
      const parents = synced[index]?.parents ?? parentsFor(nodes);
      nodes.push({ versionId: row.versionId, parents, marker: row.fileId === null, row });
    });
    return nodes;
  }

  /** A version of the same bytes already on the remote, to copy there instead of uploading. */
  async remoteCopy(size: number, checksum: string): Promise<RemoteCopy | undefined> {
    return (await mapErrors(() => this.copiesOf([[size, checksum]]))).get(`${size}:${checksum}`);
  }

  /**
   * For each `[size, checksum]`, a version of those bytes already on the remote, in one read: a
   * map from `"<size>:<checksum>"` to where it is (within a caller's transaction, if any).
   */
  private async copiesOf(contents: readonly [number, string][]): Promise<Map<string, RemoteCopy>> {
    const found = new Map<string, RemoteCopy>();
    if (contents.length === 0) return found;
    const rows = (await withContents(this.db.syncVersions, contents)).filter(
      (r) => r.remoteVersionId !== null && r.remoteKey !== null && r.marker === 0,
    );
    for (const row of rows) {
      const same = `${row.size}:${row.checksum}`;
      if (!found.has(same))
        found.set(same, { key: row.remoteKey as string, versionId: row.remoteVersionId as string });
    }
    return found;
  }

  /**
   * The stored bytes `[start, end)` of a version, as a Blob of chunk handles. `known` is its
   * file instance read earlier: when its chunks are gone since, the file is read again.
   */
  async versionBlob(row: ObjectVersionRow, start = 0, end = row.size, known?: FileRow): Promise<Blob> {
    const file =
      known ??
      (row.fileId === null ? undefined : await mapErrors(() => this.db.files.get(row.fileId as FileId)));
    if (!file?.readable) {
      throw new NotFoundError(`The bytes of version ${row.versionId} are gone.`, {
        bucketId: row.bucketId,
        key: row.key,
        versionId: row.versionId,
        resource: 'file',
      });
    }
    if (!known) return readBlob(this.db, file.extents, start, end, row.mimetype ?? '');
    try {
      return await readBlob(this.db, file.extents, start, end, row.mimetype ?? '');
    } catch {
      return this.versionBlob(row, start, end);
    }
  }

  /** Remember that a version is on the remote, so that a retried push never sends it again. */
  async markUploaded(
    pending: PendingVersion,
    remote: { key: string; versionId: string },
  ): Promise<SyncVersionRow> {
    const { row } = pending;
    const sync: SyncVersionRow = {
      versionId: row.versionId,
      bucketId: row.bucketId,
      recordId: pending.recordId,
      key: row.key,
      parents: pending.parents,
      size: row.size,
      checksum: row.checksum,
      marker: flag(row.fileId === null),
      remoteKey: remote.key,
      remoteVersionId: remote.versionId,
      state: 'uploaded',
    };
    await mapErrors(() => this.db.syncVersions.put(sync));
    return sync;
  }

  // --- Push: multipart uploads ---

  async upload(versionId: VersionId): Promise<SyncUploadRow | undefined> {
    return mapErrors(() => this.db.syncUploads.get(versionId));
  }

  async saveUpload(row: SyncUploadRow): Promise<void> {
    await mapErrors(() => this.db.syncUploads.put(row));
  }

  async deleteUpload(versionId: VersionId): Promise<void> {
    await mapErrors(() => this.db.syncUploads.delete(versionId));
  }

  // --- Push: records ---

  /**
   * Turn every dirty record into a change (parents: the change it stands at) waiting to be
   * pushed. A record whose stripped data and deleted flag equal its head's only moves its
   * synced revision. A hard-deleted record becomes a trashed change. Returns the changes made.
   *
   * Only records written since the last capture are read: `recordWrites` (schema version 3)
   * gives every write of a record a database-wide seq, and `capturedWriteSeq` is the last one
   * captured; each batch reads, captures and advances in one transaction, which writers of
   * `records` (they also take `recordWrites`) cannot interleave.
   */
  async captureDirty(): Promise<number> {
    const { db } = this;
    let made = 0;
    for (;;) {
      const batch = await mapErrors(() =>
        db.transaction(
          'rw',
          [db.records, db.syncRecords, db.syncChanges, db.syncState, db.recordWrites],
          async () => {
            const from = await this.number('capturedWriteSeq');
            const writes = await db.recordWrites.where('seq').above(from).limit(CAPTURE_BATCH).toArray();
            if (writes.length === 0) return undefined;
            const ids = writes.map((w) => w.recordId);
            const rows = await db.records.bulkGet(ids);
            const syncs = await db.syncRecords.bulkGet(ids);
            await db.syncState.put({
              key: 'capturedWriteSeq',
              value: (writes.at(-1) as { seq: number }).seq,
            });
            let count = 0;
            for (let j = 0; j < ids.length; j++) {
              // Clean ones are skipped without an await: a long run of awaits that touch no
              // table would let the transaction commit under Dexie.
              if (!isDirty(rows[j], syncs[j])) continue;
              if (await this.captureOne(ids[j] as RecordId, rows[j], syncs[j])) count++;
            }
            return { count, more: writes.length === CAPTURE_BATCH };
          },
        ),
      );
      if (!batch) return made;
      made += batch.count;
      if (!batch.more) return made;
    }
  }

  /** Capture one record's local edit as a change; joins the caller's transaction. */
  private async captureOne(
    recordId: RecordId,
    row: RecordRow | undefined,
    sync: SyncRecordRow | undefined,
  ): Promise<SyncChangeRow | undefined> {
    const { db } = this;
    if (!isDirty(row, sync)) return undefined;
    const head = sync?.head ? await db.syncChanges.get(sync.head) : undefined;
    const data = row ? strip(row.data) : (head?.data ?? {});
    const deleted = row ? row.deleted : 1;
    const bucketId = row ? bucketOf(row.data) : (head?.bucketId ?? null);
    /** The record's sync state, now at change `at`, which covers its current revision. */
    const settle = (at: string) =>
      db.syncRecords.put({
        recordId,
        head: at,
        revisionId: row?.revisionId ?? sync?.revisionId ?? 0,
        deleted,
        resolving: 0,
      });
    if (head && sameData(head.data, data) && head.deleted === deleted && !sync?.resolving) {
      await settle(head.change);
      return undefined;
    }
    const change: SyncChangeRow = {
      change: `${sync?.resolving ? 'resolve:' : ''}${crypto.randomUUID()}`,
      recordId,
      bucketId,
      parents: sync?.head ? [sync.head] : [],
      data,
      deleted,
      pushed: 0,
      seq: await this.next('changeSeq'),
    };
    await db.syncChanges.add(change);
    await settle(change.change);
    return change;
  }

  /** Changes made here and not yet sent, oldest first. */
  async unpushedChanges(limit: number): Promise<SyncChangeRow[]> {
    return mapErrors(() =>
      this.db.syncChanges
        .where('[pushed+seq]')
        .between([0, Dexie.minKey], [0, Dexie.maxKey])
        .limit(limit)
        .toArray(),
    );
  }

  // --- Push: the journal ---

  async outbox(): Promise<SyncOutboxRow | undefined> {
    return mapErrors(() => this.db.syncOutbox.orderBy('seq').first());
  }

  /** Store an entry before it is sent, with the next journal seq. */
  async saveOutbox(build: (seq: number) => Omit<SyncOutboxRow, 'seq'>): Promise<SyncOutboxRow> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', db.syncOutbox, db.syncState, async () => {
        const seq = await this.next('journalSeq');
        const row = { seq, ...build(seq) };
        await db.syncOutbox.add(row);
        return row;
      }),
    );
  }

  /** The entry is on the remote: its versions and changes are pushed, and `pushedSeq` moves on. */
  async commitOutbox(row: SyncOutboxRow, pushedSeq: number | undefined): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.syncOutbox, db.syncVersions, db.syncChanges, db.syncState, async () => {
        // By key, not by a cursor over `anyOf`: the keys are random ids spread over the whole
        // table, and fake-indexeddb steps such a cursor from the start of its range each time.
        const [versions, changes] = await Promise.all([
          db.syncVersions.bulkGet(row.versions as VersionId[]),
          db.syncChanges.bulkGet(row.changes),
        ]);
        await db.syncVersions.bulkPut(
          versions.flatMap((v) => (v?.state === 'uploaded' ? [{ ...v, state: 'pushed' as const }] : [])),
        );
        await db.syncChanges.bulkPut(
          changes.flatMap((c) => (c && !c.pushed ? [{ ...c, pushed: 1 as const }] : [])),
        );
        await db.syncOutbox.delete(row.seq);
        if (pushedSeq !== undefined) await this.advancePushed(pushedSeq);
      }),
    );
  }

  /** Move `pushedSeq` forward (never back). */
  async advancePushed(seq: number): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', db.syncState, async () => {
        if (seq > (await this.number('pushedSeq'))) await db.syncState.put({ key: 'pushedSeq', value: seq });
      }),
    );
  }

  // --- Pull ---

  /** The last journal key applied from `device`. */
  async checkpoint(device: string): Promise<string | undefined> {
    return (await mapErrors(() => this.db.syncCheckpoints.get(device)))?.lastKey;
  }

  /** Which of these versions are here already, in one read. */
  async knownVersions(versionIds: readonly string[]): Promise<Set<string>> {
    const rows = await mapErrors(() => this.db.objects.bulkGet(versionIds as VersionId[]));
    return new Set(rows.flatMap((row) => (row ? [row.versionId] : [])));
  }

  /** Whether a record change is known here. */
  async hasChange(change: string): Promise<boolean> {
    return (await mapErrors(() => this.db.syncChanges.get(change))) !== undefined;
  }

  /**
   * For each of these contents, a readable local file instance with the same bytes whose last
   * fixity check did not fail, in one read transaction: a map from `"<size>:<checksum>"` to its id.
   */
  async linkable(
    contents: readonly { size: number; checksum: string | null }[],
  ): Promise<Map<string, FileId>> {
    const found = new Map<string, FileId>();
    const keys = contents.flatMap(({ size, checksum }) =>
      checksum === null ? [] : [[size, checksum] as const],
    );
    if (keys.length === 0) return found;
    const { db } = this;
    const rows = await mapErrors(() => db.transaction('r', db.files, () => withContents(db.files, keys)));
    const files = rows.filter(
      (f) => f.readable === 1 && f.lastCheck !== false && f.location === this.settings.location,
    );
    for (const file of files) {
      const key = `${file.size}:${file.checksum}`;
      if (!found.has(key)) found.set(key, file.id);
    }
    return found;
  }

  /**
   * Store small pulled bodies, already hashed, as unreadable file instances of one chunk each,
   * in one transaction: what the byte pipeline's ingest does one file at a time with two. The
   * apply makes them readable; {@link SyncStore.discard} drops them if it does not.
   */
  async stageBodies(
    bodies: readonly { fileId: FileId; size: number; data: ArrayBuffer | Blob }[],
    chunkSize: number,
  ): Promise<void> {
    const { db } = this;
    const now = Date.now();
    const files = bodies.map(({ fileId }) =>
      writableFileRow(
        {
          id: fileId,
          location: this.settings.location,
          size: 0,
          extents: [{ dataId: fileId, size: 0, chunkSize }],
        },
        now,
      ),
    );
    const chunks = bodies.flatMap(({ fileId, size, data }) =>
      size === 0 ? [] : [{ dataId: fileId, offset: 0, size, data }],
    );
    await mapErrors(() =>
      db.transaction('rw', db.files, db.chunks, async () => {
        await db.files.bulkAdd(files);
        await db.chunks.bulkAdd(chunks);
      }),
    );
  }

  /**
   * Drop bytes written for ops that were not applied (those of applied ops are readable now and
   * stay), in one transaction. If it fails, `gc()` finds the unreadable files later.
   */
  async discard(contents: Iterable<PulledContent>): Promise<void> {
    const { db } = this;
    const ids = [...new Set([...contents].flatMap((c) => (c.kind === 'written' ? [c.fileId] : [])))];
    if (ids.length === 0) return;
    await db
      .transaction('rw', db.files, db.chunks, async () => {
        const files = await db.files.bulkGet(ids);
        const unreadable = files.filter((file): file is FileRow => file !== undefined && !file.readable);
        for (const file of unreadable) await deleteData(db, file.dataIds);
        await db.files.bulkDelete(unreadable.map((file) => file.id));
      })
      .catch(() => undefined);
  }

  // --- Lazy bodies ---

  /** A file instance as stored now (to fetch its bytes when it is lazy). */
  async file(fileId: FileId): Promise<FileRow | undefined> {
    return mapErrors(() => this.db.files.get(fileId));
  }

  /** A version that uses a file instance, to name it in errors. */
  async versionOfFile(fileId: FileId): Promise<ObjectVersionRow | undefined> {
    return mapErrors(() => this.db.objects.where('fileId').equals(fileId).first());
  }

  /**
   * Make a lazy file readable with the bytes just written and verified under another file
   * instance (`written`), in one transaction: the lazy row takes the written chunks, the
   * written row goes. `false` (and the written bytes dropped) when the file is not lazy any
   * more: filled by another fetch, or removed meanwhile.
   */
  async fillLazy(fileId: FileId, written: Extract<PulledContent, { kind: 'written' }>): Promise<boolean> {
    const { db } = this;
    const filled = await mapErrors(() =>
      db.transaction('rw', db.files, async () => {
        const [lazy, staged] = await db.files.bulkGet([fileId, written.fileId]);
        if (!lazy || !isLazyFile(lazy) || !staged || staged.readable) return false;
        const extents = staged.extents.map((e) => ({ ...e, size: written.size }));
        await db.files.put(filledLazyFile(lazy, { ...staged, extents }));
        await db.files.delete(staged.id);
        return true;
      }),
    );
    if (!filled) await this.discard([written]);
    return filled;
  }

  /** The lazy file instances of a record's bucket (every version's), with a version naming each. */
  async lazyFilesOf(recordId: RecordId): Promise<{ file: FileRow; version: ObjectVersionRow }[]> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', [db.recordsBuckets, db.objects, db.files], async () => {
        const links = await startingWith(db.recordsBuckets, '[recordId+bucketId]', recordId).toArray();
        const found = new Map<FileId, { file: FileRow; version: ObjectVersionRow }>();
        for (const link of links) {
          const versions = (await db.objects.where('bucketId').equals(link.bucketId).toArray()).filter(
            (v) => v.fileId !== null,
          );
          const files = await db.files.bulkGet(versions.map((v) => v.fileId as FileId));
          versions.forEach((version, i) => {
            const file = files[i];
            if (file && isLazyFile(file) && !found.has(file.id)) found.set(file.id, { file, version });
          });
        }
        return [...found.values()];
      }),
    );
  }

  /**
   * Apply one pulled journal entry in one transaction: insert the versions with their ids,
   * move heads by the head rule, apply the record changes (fast-forward or merge), rebuild
   * every touched record's `_files` from its bucket's heads, and advance the checkpoint. Ops
   * that local rules refuse (locked bucket, over quota) go to the inbox.
   *
   * @throws {InvalidOperationError} (code `SYNC_OWNERSHIP`) when an op names a bucket another
   *   record owns here: nothing is applied.
   */
  async applyEntry(
    device: string,
    seq: number,
    journalKey: string | undefined,
    ops: readonly JournalOp[],
    contents: ReadonlyMap<string, PulledContent>,
  ): Promise<ApplyResult> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('rw', this.applyTables, async () => {
        const result: ApplyResult = { versions: 0, records: 0, refused: 0 };
        const keys = new Map<BucketId, Set<string>>();
        const working = new Map<RecordId, WorkingRecord>();
        const now = Date.now();
        const versionIds = ops.flatMap((op) => (op.op === 'version' ? [op.versionId as VersionId] : []));
        const fileIds = [...new Set([...contents.values()].map((content) => content.fileId))];
        const [known, files, inbox] = await Promise.all([
          db.objects.bulkGet(versionIds),
          db.files.bulkGet(fileIds),
          db.syncInbox.toCollection().primaryKeys(),
        ]);
        const scope: ApplyScope = {
          now,
          known: new Set(known.flatMap((row) => (row ? [row.versionId] : []))),
          files: new Map(fileIds.map((id, i) => [id, files[i]])),
          buckets: new Map(),
          resizedBuckets: new Set(),
          seq: undefined,
          inbox: new Set(inbox),
        };
        for (const op of ops) {
          if (op.op === 'version') {
            const outcome = await this.applyVersion(op, contents.get(op.versionId), { device, seq }, scope);
            if (outcome === 'refused') result.refused++;
            if (outcome === 'applied') {
              result.versions++;
              const set = keys.get(op.bucketId as BucketId) ?? new Set<string>();
              set.add(op.key);
              keys.set(op.bucketId as BucketId, set);
            }
          } else {
            const outcome = await this.applyRecord(op, { device, seq }, scope);
            if (outcome === 'refused') result.refused++;
            if (outcome === 'applied') result.records++;
          }
        }
        if (scope.seq !== undefined) await db.meta.put({ key: 'seq', value: scope.seq });
        for (const id of scope.resizedBuckets) {
          await db.buckets.put((scope.buckets.get(id) as { row: BucketRow }).row);
        }
        for (const [bucketId, set] of keys) for (const key of set) await this.settleHead(bucketId, key, now);
        // Records whose bucket changed get their `_files` rebuilt too.
        for (const bucketId of keys.keys()) {
          const link = await db.recordsBuckets.where('bucketId').equals(bucketId).first();
          if (link && !working.has(link.recordId)) {
            const state = await this.loadWorking(link.recordId);
            if (state) working.set(link.recordId, state);
          }
        }
        for (const [recordId, state] of working) await this.storeWorking(recordId, state, now);
        if (journalKey !== undefined) await db.syncCheckpoints.put({ device, lastKey: journalKey, seq });
        return result;
      }),
    );
  }

  private async applyVersion(
    op: VersionOp,
    content: PulledContent | undefined,
    from: { device: string; seq: number },
    scope: ApplyScope,
  ): Promise<'applied' | 'known' | 'refused'> {
    const { db } = this;
    const { now } = scope;
    if (scope.known.has(op.versionId)) return 'known';
    const bucket = await this.ensureBucket(op.bucketId as BucketId, op.recordId as RecordId, scope);
    let file: { id: FileId; size: number; checksum: string } | undefined;
    try {
      if (bucket.deleted)
        throw new InvalidOperationError(`Bucket ${bucket.id} is deleted.`, { bucketId: bucket.id });
      if (bucket.locked) {
        throw new BucketLockedError(bucket.id);
      }
      if (!op.marker) {
        if (!content)
          throw new NotFoundError(`No bytes for version ${op.versionId}.`, { versionId: op.versionId });
        assertFits(toLimits(bucket), op.size, op.key);
        file = await this.readableFile(content, op, scope);
      }
    } catch (error) {
      await this.toInbox(op, from, error, now);
      return 'refused';
    }
    const seq = await this.nextVersionSeq(scope);
    const row: ObjectVersionRow = {
      versionId: op.versionId as VersionId,
      bucketId: bucket.id,
      key: op.key,
      fileId: file?.id ?? null,
      size: file?.size ?? 0,
      checksum: file?.checksum ?? null,
      mimetype: op.mimetype,
      isHead: 0,
      seq,
      rank: -seq,
      created: now,
      updated: now,
    };
    await db.objects.add(row);
    scope.known.add(row.versionId);
    (scope.buckets.get(bucket.id) as { row: BucketRow }).row = resized(bucket, row.size, now);
    scope.resizedBuckets.add(bucket.id);
    await db.syncVersions.put({
      versionId: row.versionId,
      bucketId: bucket.id,
      recordId: op.recordId as RecordId,
      key: op.key,
      parents: [...op.parents],
      size: row.size,
      checksum: row.checksum,
      marker: flag(op.marker),
      remoteKey: op.remote.key,
      remoteVersionId: op.remote.versionId,
      state: 'pulled',
    });
    const refusedBefore = `version:${op.versionId}`;
    if (scope.inbox.has(refusedBefore)) await db.syncInbox.delete(refusedBefore);
    return 'applied';
  }

  /** Make written bytes readable (once), or check a linked file is still there. */
  private async readableFile(
    content: PulledContent,
    op: VersionOp,
    scope: ApplyScope,
  ): Promise<{ id: FileId; size: number; checksum: string }> {
    const { db } = this;
    if (content.kind === 'lazy') return this.lazyFileRow(content, scope);
    const file = scope.files.has(content.fileId)
      ? scope.files.get(content.fileId)
      : await db.files.get(content.fileId);
    if (!file) throw new NotFoundError(`File ${content.fileId} is gone.`, { fileId: content.fileId });
    if (file.readable) return { id: file.id, size: file.size, checksum: file.checksum as string };
    if (content.kind !== 'written') {
      throw new NotFoundError(`File ${content.fileId} is not readable.`, { fileId: content.fileId });
    }
    const readable: FileRow = {
      ...file,
      size: content.size,
      checksum: content.checksum,
      readable: 1,
      writable: 0,
      extents: file.extents.map((e) => ({ ...e, size: content.size })),
      updated: Date.now(),
    };
    await db.files.put(readable);
    scope.files.set(file.id, readable);
    return { id: file.id, size: content.size, checksum: op.checksum ?? content.checksum };
  }

  /** The file instance of a version pulled without its bytes: made once per apply and content. */
  private async lazyFileRow(
    content: Extract<PulledContent, { kind: 'lazy' }>,
    scope: ApplyScope,
  ): Promise<{ id: FileId; size: number; checksum: string }> {
    if (!scope.files.get(content.fileId)) {
      const row = lazyFileRow({ ...content, id: content.fileId, location: this.settings.location });
      await this.db.files.add(row);
      scope.files.set(row.id, row);
    }
    return { id: content.fileId, size: content.size, checksum: content.checksum };
  }

  /** The next version seq: read once per apply, written back at its end. */
  private async nextVersionSeq(scope: ApplyScope): Promise<number> {
    if (scope.seq === undefined) {
      const row = await this.db.meta.get('seq');
      scope.seq = (row?.value as number | undefined) ?? 0;
    }
    scope.seq++;
    return scope.seq;
  }

  /**
   * The bucket of a pulled record, created with default settings when new here; checked and
   * read once per apply.
   */
  private async ensureBucket(bucketId: BucketId, recordId: RecordId, scope: ApplyScope): Promise<BucketRow> {
    const seen = scope.buckets.get(bucketId);
    if (seen?.recordId === recordId) return seen.row;
    const row = await this.findBucket(bucketId, recordId, scope.now);
    if (seen) return seen.row;
    scope.buckets.set(bucketId, { recordId, row });
    return row;
  }

  private async findBucket(bucketId: BucketId, recordId: RecordId, now: number): Promise<BucketRow> {
    const { db } = this;
    const owner = await db.recordsBuckets.where('bucketId').equals(bucketId).first();
    if (owner && owner.recordId !== recordId) throw ownership(bucketId, recordId);
    const existing = await db.buckets.get(bucketId);
    const linked = await db.recordsBuckets
      .where('[recordId+bucketId]')
      .between([recordId, Dexie.minKey], [recordId, Dexie.maxKey])
      .first();
    if (linked && linked.bucketId !== bucketId) throw ownership(bucketId, recordId);
    if (existing) return existing;
    const row: BucketRow = {
      id: bucketId,
      location: this.settings.location,
      storageClass: this.settings.storageClass,
      size: 0,
      quotaSize: null,
      maxFileSize: null,
      locked: 0,
      deleted: 0,
      created: now,
      updated: now,
    };
    await db.buckets.add(row);
    return row;
  }

  private async toInbox(op: JournalOp, from: { device: string; seq: number }, error: unknown, now: number) {
    const { code, message } = error as { code?: string; message?: string };
    const row: SyncInboxRow = {
      id: op.op === 'version' ? `version:${op.versionId}` : `record:${op.change}`,
      recordId: op.recordId as RecordId,
      device: from.device,
      seq: from.seq,
      op: copyJson(op),
      code: code ?? 'SYNC_REFUSED',
      message: message ?? String(error),
      created: now,
    };
    await this.db.syncInbox.put(row);
  }

  /** Move the head of a key to the one the head rule picks among its leaves. */
  private async settleHead(bucketId: BucketId, key: string, now: number): Promise<void> {
    const { db } = this;
    const nodes = await this.keyNodes(bucketId, key);
    const best = chooseHead(leaves(nodes));
    const current = await db.heads.get([bucketId, key]);
    if (!best || current?.versionId === best.versionId) return;
    const rowOf = (versionId: string) => nodes.find((node) => node.versionId === versionId)?.row;
    const was = current && rowOf(current.versionId);
    if (was) await db.objects.put({ ...was, isHead: 0, updated: now });
    else if (current) await db.objects.update(current.versionId, { isHead: 0, updated: now });
    await db.objects.put({ ...best.row, isHead: 1, updated: now });
    await db.heads.put({ bucketId, key, versionId: best.versionId as VersionId });
  }

  /** The working state of a record as stored, or `undefined` when it was never seen here. */
  private async loadWorking(recordId: RecordId): Promise<WorkingRecord | undefined> {
    const { db } = this;
    const row = await db.records.get(recordId);
    const sync = await db.syncRecords.get(recordId);
    if (!row && !sync) return undefined;
    const clean = !isDirty(row, sync);
    const head = sync?.head ? await db.syncChanges.get(sync.head) : undefined;
    const data = row ? copyJson(row.data) : copyJson(head?.data ?? {});
    // A clean record takes its order and file metadata from its change (the bucket may only
    // now hold the keys its `_files` lists).
    if (clean && head && row) {
      if (head.data._files === undefined) delete data._files;
      else data._files = copyJson(head.data._files);
    }
    return {
      sync: sync ?? {
        recordId,
        head: null,
        revisionId: row?.revisionId ?? 0,
        deleted: row?.deleted ?? 0,
        resolving: 0,
      },
      row,
      data,
      deleted: row ? row.deleted === 1 : (head?.deleted ?? 1) === 1,
      clean,
      touched: false,
      removed: !row,
    };
  }

  /**
   * Store a pulled change and mark its record for {@link SyncStore.settle}: records move once
   * per pull, to the merge of all their leaves, so that devices that pull in different orders
   * reach the same merges.
   */
  private async applyRecord(
    op: RecordOp,
    from: { device: string; seq: number },
    scope: ApplyScope,
  ): Promise<'applied' | 'known' | 'refused'> {
    const { now } = scope;
    const { db } = this;
    const seen = await db.syncChanges.get(op.change);
    if (seen) {
      // A merge made here and there alike: another device has published it already.
      if (!seen.pushed) await db.syncChanges.update(op.change, { pushed: 1 });
      return 'known';
    }
    try {
      this.checkRecord(op.data as RecordData);
    } catch (error) {
      await this.toInbox(op, from, error, now);
      return 'refused';
    }
    const refusedBefore = `record:${op.change}`;
    if (scope.inbox.has(refusedBefore)) await db.syncInbox.delete(refusedBefore);
    const recordId = op.recordId as RecordId;
    if (op.bucketId !== null) await this.ensureBucket(op.bucketId as BucketId, recordId, scope);
    await db.syncChanges.add({
      change: op.change,
      recordId,
      bucketId: op.bucketId as BucketId | null,
      parents: [...op.parents],
      data: copyJson(op.data),
      deleted: flag(op.deleted),
      pushed: 1,
      seq: await this.next('changeSeq'),
    });
    await db.syncState.put({ key: `${UNSETTLED}${recordId}`, value: now });
    return 'applied';
  }

  /**
   * Move every record that pulled changes to the merge of its leaves (changes no other names
   * as parent), in id order: a fast-forward for one leaf, else a chain of 3-way merges with
   * deterministic ids. A local edit not yet captured becomes a leaf of its own first. One
   * transaction per record.
   */
  async settle(): Promise<{ records: number; merged: number; conflicts: number }> {
    const { db } = this;
    const keys = await mapErrors(() => db.syncState.where('key').startsWith(UNSETTLED).primaryKeys());
    const result = { records: 0, merged: 0, conflicts: 0 };
    for (const key of keys) {
      const recordId = key.slice(UNSETTLED.length) as RecordId;
      const done = await mapErrors(() =>
        db.transaction('rw', this.applyTables, async () => {
          const outcome = await this.settleRecord(recordId, Date.now());
          await db.syncState.delete(key);
          return outcome;
        }),
      );
      result.records++;
      result.merged += done.merged;
      result.conflicts += done.conflicts;
    }
    return result;
  }

  private async settleRecord(
    recordId: RecordId,
    now: number,
  ): Promise<{ merged: number; conflicts: number }> {
    const { db } = this;
    const outcome = { merged: 0, conflicts: 0 };
    const nodes = await this.changeNodes(recordId);
    let state = await this.loadWorking(recordId);
    if (state && !state.clean) {
      // A local edit not yet captured becomes its own change first, so that it merges.
      const local = await this.captureWorking(recordId, state);
      if (local) nodes.set(local.change, { change: local.change, parents: local.parents });
    }
    const named = new Set([...nodes.values()].flatMap((node) => node.parents));
    const leaves = [...nodes.keys()].filter((id) => !named.has(id)).sort();
    if (leaves.length === 0) return outcome;
    const stateOf = (row: SyncChangeRow): RecordState => ({
      data: copyJson(row.data) as Record<string, JsonValue>,
      deleted: row.deleted === 1,
    });
    let target = leaves[0] as string;
    for (const next of leaves.slice(1)) {
      const [left, right] = [await db.syncChanges.get(target), await db.syncChanges.get(next)];
      if (!left || !right) continue;
      // One side holds the other's state already: move to it, and make no merge change. Else
      // devices that made equal merges under different ids would merge those, and the merges
      // of those, every round without end. Equal states end on the greatest id everywhere.
      if (await this.supersedes(nodes, right, left)) {
        target = next;
        continue;
      }
      if (await this.supersedes(nodes, left, right)) continue;
      const merged = mergeRecords(
        await this.baseState(nodes, target, next),
        { change: target, state: stateOf(left) },
        { change: next, state: stateOf(right) },
      );
      const mergeId = mergeChangeId(target, next);
      if (!(await db.syncChanges.get(mergeId))) {
        await db.syncChanges.add({
          change: mergeId,
          recordId,
          bucketId: left.bucketId ?? right.bucketId,
          parents: [target, next].sort(),
          data: copyJson(merged.state.data),
          deleted: flag(merged.state.deleted),
          pushed: 0,
          seq: await this.next('changeSeq'),
        });
      }
      nodes.set(mergeId, { change: mergeId, parents: [target, next] });
      // "local" is the side the record stood on before, where it was on one.
      const head = state?.sync.head ?? null;
      const flip = head !== null && isAncestor(nodes, head, next) && !isAncestor(nodes, head, target);
      for (const conflict of merged.conflicts) {
        const oriented = flip
          ? {
              ...conflict,
              local: conflict.remote,
              remote: conflict.local,
              chosen: conflict.chosen === 'local' ? ('remote' as const) : ('local' as const),
            }
          : conflict;
        await this.storeConflict(recordId, mergeId, oriented, now);
      }
      outcome.merged++;
      outcome.conflicts += merged.conflicts.length;
      target = mergeId;
    }
    const final = (await db.syncChanges.get(target)) as SyncChangeRow;
    if (!state) {
      state = {
        sync: { recordId, head: target, revisionId: 0, deleted: final.deleted, resolving: 0 },
        row: undefined,
        data: copyJson(final.data),
        deleted: final.deleted === 1,
        clean: true,
        touched: true,
        removed: false,
      };
    } else if (state.sync.head !== target) {
      state.sync = { ...state.sync, head: target };
      state.data = copyJson(final.data);
      state.deleted = final.deleted === 1;
      state.clean = true;
      state.touched = true;
    }
    await this.clearResolved(recordId);
    if (state.touched) await this.storeWorking(recordId, state, now);
    return outcome;
  }

  /** The state of the lowest common ancestor of two changes, if they share one. */
  private async baseState(
    nodes: Map<string, ChangeNode>,
    a: string,
    b: string,
  ): Promise<RecordState | undefined> {
    const baseId = commonAncestor(nodes, a, b);
    const base = baseId ? await this.db.syncChanges.get(baseId) : undefined;
    return base && { data: copyJson(base.data) as Record<string, JsonValue>, deleted: base.deleted === 1 };
  }

  /**
   * Whether `newer` already holds everything `older` says: `older`'s state is that of `newer`
   * or of a change in `newer`'s history (two devices made equal merges under different ids, and
   * edits may have followed on one of them). Only the history `older` does not share is read.
   * A leaf passed over this way stays a leaf: later settles pass over it again, however many
   * edits followed, instead of merging it with a base from before it (which reverted them).
   */
  private async supersedes(
    nodes: ReadonlyMap<string, ChangeNode>,
    newer: SyncChangeRow,
    older: SyncChangeRow,
  ): Promise<boolean> {
    const same = (row: SyncChangeRow | undefined) =>
      row !== undefined &&
      row.deleted === older.deleted &&
      jsonEqual(row.data as JsonValue, older.data as JsonValue);
    if (same(newer)) return true;
    const shared = ancestorsOf(nodes, [older.change]);
    const history = [...ancestorsOf(nodes, [newer.change])].filter(
      (change) => change !== newer.change && !shared.has(change),
    );
    return (await this.db.syncChanges.bulkGet(history)).some(same);
  }

  /**
   * A resolution clears the conflicts that do not postdate it: the resolver saw that conflict,
   * or the same one from an equal merge under another id (devices that merge in different
   * orders). Called at the end of a settle, whose head holds every change known here: merged
   * into it, or superseded by it (its state is there already), so every known resolution and
   * conflict counts, even one on a sibling the head superseded.
   */
  private async clearResolved(recordId: RecordId): Promise<void> {
    const { db } = this;
    const open = await db.syncConflicts.where('recordId').equals(recordId).toArray();
    if (open.length === 0) return;
    const nodes = await this.changeNodes(recordId);
    const resolutions = [...nodes.keys()].filter((id) => id.startsWith('resolve:'));
    const gone = open
      .filter((c) => nodes.has(c.change) && resolutions.some((r) => !isAncestor(nodes, r, c.change)))
      .map((c) => c.id);
    await db.syncConflicts.bulkDelete(gone);
  }

  private async storeConflict(recordId: RecordId, change: string, conflict: FieldConflict, now: number) {
    const { path } = conflict;
    const row: SyncConflictRow = {
      id: `${recordId}\u0000${JSON.stringify(path)}`,
      recordId,
      change,
      path,
      base: conflict.base,
      local: conflict.local,
      remote: conflict.remote,
      winner: conflict.chosen,
      created: now,
    };
    await this.db.syncConflicts.put(row);
  }

  /** Capture the uncaptured local edit of a working record as a change; joins the transaction. */
  private async captureWorking(recordId: RecordId, state: WorkingRecord): Promise<SyncChangeRow | undefined> {
    const change = await this.captureOne(recordId, state.row, state.sync);
    state.sync = (await this.db.syncRecords.get(recordId)) ?? state.sync;
    state.clean = true;
    return change;
  }

  private async changeNodes(recordId: RecordId): Promise<Map<string, ChangeNode>> {
    const rows = await this.db.syncChanges.where('recordId').equals(recordId).toArray();
    return new Map(rows.map((row) => [row.change, { change: row.change, parents: row.parents }]));
  }

  /** Write a working record back: one new revision with `_files` rebuilt from the bucket. */
  private async storeWorking(recordId: RecordId, state: WorkingRecord, now: number): Promise<void> {
    const { db } = this;
    const bucketId = bucketOf(state.data) ?? (state.row ? bucketOf(state.row.data) : null);
    const data: RecordData = copyJson(state.data);
    if (bucketId) {
      const heads = await startingWith(db.objects, '[bucketId+isHead+key]', bucketId, 1)
        .filter((row) => row.fileId !== null)
        .toArray();
      const entries = buildEntries(heads.map(toHead), orderOf(data._files));
      const files = filesField(data, entries);
      if (files === undefined) delete data._files;
      else data._files = files;
    }
    const deleted = flag(state.deleted);
    let row = state.row;
    if (!row) {
      if (deleted && state.removed) {
        await db.syncRecords.put({ ...state.sync, deleted: 1 });
        return;
      }
      row = { id: recordId, revisionId: 0, data, deleted, created: now, updated: now };
      await db.records.add(row);
      await db.recordRevisions.put({ recordId, revisionId: 0, data, created: now });
      if (bucketId) await db.recordsBuckets.put({ recordId, bucketId: bucketId as BucketId });
    } else if (!sameData(row.data, data) || row.deleted !== deleted) {
      const revisionId = row.revisionId + 1;
      const updated = Math.max(now, row.updated);
      row = { ...row, data, deleted, revisionId, updated };
      await db.records.put(row);
      await db.recordRevisions.add({ recordId, revisionId, data, created: updated });
    }
    if (state.clean) {
      await db.syncRecords.put({ ...state.sync, revisionId: row.revisionId, deleted: row.deleted });
    } else if (state.touched) {
      await db.syncRecords.put(state.sync);
    }
  }

  // --- Conflicts, inbox and per-record state ---

  async conflicts(recordId?: string): Promise<SyncConflictRow[]> {
    return mapErrors(() =>
      recordId === undefined
        ? this.db.syncConflicts.toArray()
        : this.db.syncConflicts.where('recordId').equals(recordId).toArray(),
    );
  }

  /**
   * Resolve a conflict: set its field to `value` as a new local revision, clear it, and mark
   * the record so that its next change is a resolution (which clears the same conflict on
   * the devices that pull it).
   *
   * @throws {NotFoundError} (`resource: 'conflict'`) for an unknown id; `RecordDeletedError`…
   */
  async resolve(id: string, value: { set: unknown } | { remove: true }): Promise<void> {
    const { db } = this;
    await mapErrors(() =>
      db.transaction('rw', [db.syncConflicts, db.records, db.recordRevisions, db.syncRecords], async () => {
        const conflict = await db.syncConflicts.get(id);
        if (!conflict) {
          throw new NotFoundError(`Conflict ${id} does not exist.`, { resource: 'conflict' });
        }
        const row = await db.records.get(conflict.recordId);
        if (row) {
          const data = copyJson(row.data);
          setPath(data, conflict.path, value);
          const revisionId = row.revisionId + 1;
          const updated = Math.max(Date.now(), row.updated);
          await db.records.put({ ...row, data, revisionId, updated });
          await db.recordRevisions.add({ recordId: row.id, revisionId, data, created: updated });
        } else {
          // No row to change: a write all the same (a delete of nothing), so that recordWrites
          // gives the record a seq and the next push captures the resolution.
          await db.records.delete(conflict.recordId);
        }
        const sync = await db.syncRecords.get(conflict.recordId);
        if (sync) await db.syncRecords.put({ ...sync, resolving: 1 });
        await db.syncConflicts.delete(id);
      }),
    );
  }

  /** Inbox rows (pulled ops refused by local rules), to retry. */
  async inbox(): Promise<SyncInboxRow[]> {
    return mapErrors(() => this.db.syncInbox.toArray());
  }

  /** Where a record stands: synced, pending (local edits or versions not pushed), conflict, error. */
  async recordStatus(recordId: string): Promise<'synced' | 'pending' | 'conflict' | 'error'> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction(
        'r',
        [
          db.records,
          db.syncRecords,
          db.syncChanges,
          db.syncConflicts,
          db.syncInbox,
          db.objects,
          db.syncVersions,
          db.recordsBuckets,
        ],
        async () => {
          const id = recordId as RecordId;
          if ((await db.syncConflicts.where('recordId').equals(id).count()) > 0) return 'conflict';
          if ((await db.syncInbox.where('recordId').equals(id).count()) > 0) return 'error';
          const row = await db.records.get(id);
          const sync = await db.syncRecords.get(id);
          if (isDirty(row, sync)) return 'pending';
          if (sync?.head) {
            const head = await db.syncChanges.get(sync.head);
            if (head && !head.pushed) return 'pending';
          }
          const links = await startingWith(db.recordsBuckets, '[recordId+bucketId]', id).toArray();
          for (const link of links) {
            const ids = await db.objects.where('bucketId').equals(link.bucketId).primaryKeys();
            const synced = await db.syncVersions.bulkGet(ids);
            if (synced.some((v) => !v || v.state === 'uploaded')) return 'pending';
          }
          return 'synced';
        },
      ),
    );
  }

  /** How many local versions and bytes are still to push (an estimate for the status). */
  async toGo(): Promise<{ files: number; bytes: number }> {
    const { db } = this;
    return mapErrors(() =>
      db.transaction('r', [db.objects, db.syncVersions, db.syncState], async () => {
        let from = await this.number('pushedSeq');
        let files = 0;
        let bytes = 0;
        for (;;) {
          const rows = await db.objects.where('seq').above(from).limit(COUNT_PAGE).toArray();
          const synced = await db.syncVersions.bulkGet(rows.map((r) => r.versionId));
          rows.forEach((row, i) => {
            const s = synced[i];
            if (s && s.state !== 'uploaded') return;
            files++;
            if (!s) bytes += row.size;
          });
          if (rows.length < COUNT_PAGE) return { files, bytes };
          from = (rows.at(-1) as ObjectVersionRow).seq;
        }
      }),
    );
  }
}

/**
 * The rows of `table` whose `[size+checksum]` is one of `contents`, in index order, by one
 * exact lookup per distinct content (within the caller's transaction, if any). Not `anyOf`:
 * its cursor spans every size between the smallest and the largest wanted, and fake-indexeddb
 * steps a cursor from the start of its range each time, which made a push quadratic.
 */
async function withContents<T, K, I>(
  table: Table<T, K, I>,
  contents: readonly (readonly [number, string])[],
): Promise<T[]> {
  const distinct = new Map(contents.map((content) => [`${content[0]}:${content[1]}`, content]));
  const found = await Promise.all(
    [...distinct.values()].map((content) => table.where('[size+checksum]').equals(content).toArray()),
  );
  return found.flat();
}

/** Whether a record has a local edit its sync state does not cover. */
function isDirty(row: RecordRow | undefined, sync: SyncRecordRow | undefined): boolean {
  if (!sync) return row !== undefined;
  if (sync.resolving) return true;
  if (!row) return sync.deleted === 0;
  return row.revisionId !== sync.revisionId || row.deleted !== sync.deleted;
}

const bucketOf = (data: Record<string, unknown>): BucketId | null =>
  typeof data._bucket === 'string' && data._bucket !== '' ? (data._bucket as BucketId) : null;

/** An op that names a bucket of another record: the whole entry is refused. */
const ownership = (bucketId: string, recordId: string): SyncError =>
  new SyncError(`Bucket ${bucketId} does not belong to record ${recordId} here.`, { bucketId, recordId });

/** Set (or remove) the value at `path` in `data`, creating objects on the way. */
function setPath(
  data: Record<string, unknown>,
  path: readonly string[],
  value: { set: unknown } | { remove: true },
) {
  if (path[0] === '_files' && path.length >= 3) {
    const files = Array.isArray(data._files) ? (data._files as Record<string, unknown>[]) : [];
    const entry = files.find((e) => e?.key === path[1]);
    if (!entry) return;
    setPath(entry, path.slice(2), value);
    return;
  }
  let target: Record<string, unknown> = data;
  for (const part of path.slice(0, -1)) {
    const next = target[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if ('remove' in value) delete target[last];
  else target[last] = copyJson(value.set);
}
