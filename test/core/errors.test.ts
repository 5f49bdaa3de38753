import {
  type CofferErrorCode,
  InvalidArgumentError,
  InvalidTagError,
  NotFoundError,
  ReservedMetadataError,
  ValidationError,
} from '@coffer/core';
import { describe, expect, it } from 'vitest';
import { type CofferError, errorClasses } from '../../packages/core/src/errors.js';

/**
 * Every code, as users match on them. Typed by {@link CofferErrorCode}: a code added to a class
 * and missing here, or listed here and thrown by no class, fails the type check.
 */
const everyCode: Record<CofferErrorCode, true> = {
  COFFER_ERROR: true,
  INVALID_OPERATION: true,
  BUCKET_LOCKED: true,
  BUCKET_DELETED: true,
  INVALID_KEY: true,
  INVALID_TAG: true,
  DUPLICATE_TAG: true,
  INVALID_ARGUMENT: true,
  RESERVED_METADATA: true,
  KEY_EXISTS: true,
  REVISION_CONFLICT: true,
  RECORD_DELETED: true,
  RECORD_EXISTS: true,
  VALIDATION_FAILED: true,
  IMPORT_CONFLICT: true,
  SYNC_NOT_CONFIGURED: true,
  SYNC_REMOTE_CHANGE: true,
  SYNC_OPEN: true,
  NOT_FOUND: true,
  STORAGE: true,
  STORAGE_QUOTA_EXCEEDED: true,
  FILE_SIZE: true,
  BUCKET_QUOTA_EXCEEDED: true,
  MAX_FILE_SIZE_EXCEEDED: true,
  UNEXPECTED_FILE_SIZE: true,
  INTEGRITY: true,
  INVALID_BAG: true,
  MULTIPART: true,
  MULTIPART_ALREADY_COMPLETED: true,
  MULTIPART_MISSING_PARTS: true,
  MULTIPART_INVALID_CHUNK_SIZE: true,
  MULTIPART_INVALID_PART_NUMBER: true,
  MULTIPART_INVALID_SIZE: true,
  ABORTED: true,
  UNSUPPORTED_ENVIRONMENT: true,
  SYNC_INVALID_JOURNAL: true,
  BODY_UNAVAILABLE: true,
  REMOTE_UNREACHABLE: true,
  REMOTE_AUTH: true,
  REMOTE_NO_BUCKET: true,
  REMOTE_NOT_FOUND: true,
  REMOTE_THROTTLED: true,
  REMOTE_BAD_DIGEST: true,
  REMOTE_INVALID_PART: true,
  REMOTE_ABORTED: true,
  REMOTE_BAD_RESPONSE: true,
  REMOTE_HTTP: true,
};

describe('error codes', () => {
  it('are one per class, unchanged, and every code but the remote’s has its class', () => {
    const codes = Object.values(errorClasses).map(
      (Class) => new (Class as unknown as new (message: string) => CofferError)('x').code,
    );

    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.sort()).toEqual(
      Object.keys(everyCode)
        .filter((code) => !code.startsWith('REMOTE_'))
        .sort(),
    );
  });
});

describe('error context', () => {
  it('takes the argument at fault through the constructor, on any error', () => {
    const error = new InvalidArgumentError('chunkSize must be at least 1 byte.', {
      argument: 'chunkSize',
      actual: 0,
    });

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'chunkSize', actual: 0 });
    expect(new NotFoundError('gone', { argument: 'versionId' }).argument).toBe('versionId');
    expect(Object.keys(new InvalidArgumentError('no argument named'))).not.toContain('argument');
  });

  it('takes the fields of a class through its constructor', () => {
    expect(
      new NotFoundError('Bucket b does not exist.', { bucketId: 'b', resource: 'bucket' }),
    ).toMatchObject({
      bucketId: 'b',
      resource: 'bucket',
    });
    expect(new InvalidTagError('Too long.', { tag: 'project' }).tag).toBe('project');
    expect(new ReservedMetadataError('Reserved.', { field: 'checksum' }).field).toBe('checksum');
    const violations = [{ path: '/title', message: 'is required' }];
    expect(new ValidationError('Bad record.', { errors: violations }).errors).toEqual(violations);
    expect(new ValidationError('Bad record.').errors).toEqual([]);
  });
});
