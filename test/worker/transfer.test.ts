import {
  BucketLockedError,
  BucketQuotaExceededError,
  CofferError,
  FileSizeError,
  ImportConflictError,
  InvalidOperationError,
  StorageError,
  SyncAlreadyOpenError,
  SyncNotConfiguredError,
  SyncRemoteChangeError,
  ValidationError,
} from '@coffer/core';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from '../../packages/core/src/worker/transfer.js';

/** What the other side of the worker sees: the wire form, structured-cloned, rebuilt. */
const acrossTheWorker = (thrown: unknown): unknown => fromWire(structuredClone(toWire(thrown)));

describe('errors crossing the worker boundary', () => {
  it('come back as the same Coffer class with code, message, stack and context fields', () => {
    const sent = new BucketQuotaExceededError('Bucket b1 is full.', {
      bucketId: 'b1',
      key: 'a.bin',
      limit: 10,
      actual: 12,
    });

    const received = acrossTheWorker(sent);

    expect(received).toBeInstanceOf(BucketQuotaExceededError);
    expect(received).toBeInstanceOf(FileSizeError);
    expect(received).toBeInstanceOf(Error);
    expect(received).toMatchObject({
      name: 'BucketQuotaExceededError',
      code: 'BUCKET_QUOTA_EXCEEDED',
      message: 'Bucket b1 is full.',
      bucketId: 'b1',
      key: 'a.bin',
      limit: 10,
      actual: 12,
      stack: sent.stack,
    });
  });

  it('keep the fields of classes whose constructors take other arguments', () => {
    const locked = acrossTheWorker(new BucketLockedError('b2', { key: 'k' }));
    const invalid = acrossTheWorker(
      new ValidationError('Bad record.', { errors: [{ path: '/title', message: 'required' }] }),
    );

    expect(locked).toBeInstanceOf(BucketLockedError);
    expect(locked).toMatchObject({ bucketId: 'b2', key: 'k', code: 'BUCKET_LOCKED' });
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).errors).toEqual([{ path: '/title', message: 'required' }]);
  });

  it('come back as the classes of import conflicts and of sync that is not configured or changes remote', () => {
    const sent = [
      new ImportConflictError('Bucket b belongs to record r.', { bucketId: 'b', recordId: 'r' }),
      new SyncNotConfiguredError('Sync has no remote: configure one first.'),
      new SyncRemoteChangeError('This coffer has synced with another bucket.'),
      new SyncAlreadyOpenError('This coffer has an open sync: close it first.'),
    ];

    const received = sent.map(acrossTheWorker);

    for (const [i, error] of sent.entries()) {
      expect(received[i]).toBeInstanceOf(error.constructor);
      expect(received[i]).toBeInstanceOf(InvalidOperationError);
      expect(received[i]).toMatchObject({ code: error.code, message: error.message });
    }
    expect(received[0]).toMatchObject({ bucketId: 'b', recordId: 'r' });
  });

  it('keep the chain of causes, with plain errors staying plain', () => {
    const root = new TypeError('disk said no');
    const received = acrossTheWorker(new StorageError('Storage failed.', { cause: root })) as StorageError;

    expect(received).toBeInstanceOf(StorageError);
    expect(received.cause).toBeInstanceOf(Error);
    expect(received.cause).not.toBeInstanceOf(CofferError);
    expect(received.cause).toMatchObject({ name: 'TypeError', message: 'disk said no' });
  });

  it('pass thrown values that are not errors through, and stringify what cannot be cloned', () => {
    expect(acrossTheWorker('just a string')).toBe('just a string');
    expect(acrossTheWorker({ reason: 42 })).toEqual({ reason: 42 });
    const withFunction = Object.assign(new StorageError('odd'), { expected: () => 1 });
    expect((acrossTheWorker(withFunction) as StorageError).expected).toBe('() => 1');
  });
});
