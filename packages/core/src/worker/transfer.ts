import { type TransferHandler, transferHandlers } from 'comlink';
import { CofferError, errorClasses } from '../errors.js';

/** An error as it crosses the worker boundary: plain data only. */
export interface WireError {
  /** The key of the error's class in `errorClasses`, or `null` for an error that is not Coffer's. */
  className: string | null;
  name: string;
  message: string;
  stack: string | undefined;
  /** Own fields: `code` and the context (`bucketId`, `key`, `limit`, `expected`, `actual`, ...). */
  fields: Record<string, unknown>;
  cause?: WireThrown;
}

/** Anything thrown, as it crosses the worker boundary. */
export type WireThrown = { isError: true; error: WireError } | { isError: false; value: unknown };

const MAX_CAUSE_DEPTH = 4;
const classKeys = new Map<unknown, string>(Object.entries(errorClasses).map(([key, cls]) => [cls, key]));

/** `value` if it survives structured cloning, else its string form. */
function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return String(value);
  }
}

/**
 * Turn anything thrown into plain data, keeping a Coffer error's class, code and context
 * fields and the chain of causes. The class is found by identity, so minified names do no harm.
 */
export function toWire(thrown: unknown, depth = 0): WireThrown {
  if (!(thrown instanceof Error)) return { isError: false, value: cloneable(thrown) };
  const fields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(thrown)) {
    if (field !== 'cause' && field !== 'stack' && field !== 'message') fields[field] = cloneable(value);
  }
  const error: WireError = {
    className: thrown instanceof CofferError ? (classKeys.get(thrown.constructor) ?? 'CofferError') : null,
    name: thrown.name,
    message: thrown.message,
    stack: thrown.stack,
    fields,
  };
  if (thrown.cause !== undefined && depth < MAX_CAUSE_DEPTH) error.cause = toWire(thrown.cause, depth + 1);
  return { isError: true, error };
}

/**
 * Rebuild what {@link toWire} sent: a Coffer error comes back as an instance of the same class
 * (so `instanceof BucketLockedError` holds) with the same code and fields; other errors come
 * back as plain `Error`s with their name, message and stack.
 */
export function fromWire(wire: WireThrown): unknown {
  if (!wire.isError) return wire.value;
  const { className, name, message, stack, fields, cause } = wire.error;
  const options = cause === undefined ? undefined : { cause: fromWire(cause) };
  const cls = className === null ? Error : (errorClasses[className] ?? CofferError);
  // A real Error (with its internal slot) whose prototype is the class's, without running the
  // class's constructor: constructors differ in their signatures (BucketLockedError's takes an id).
  const error: Error = Reflect.construct(Error, [message, options], cls);
  Object.assign(error, fields);
  Object.defineProperty(error, 'name', {
    value: name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  if (stack !== undefined) error.stack = stack;
  return error;
}

let installed = false;

/**
 * Replace comlink's handler for thrown values (which keeps only message, name and stack) with
 * one that keeps Coffer's error classes and fields. Both sides of the worker call it; calling
 * it again does nothing.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  const builtin = transferHandlers.get('throw');
  if (!builtin) return;
  const handler: TransferHandler<{ value: unknown }, WireThrown> = {
    canHandle: (value): value is { value: unknown } => builtin.canHandle(value),
    serialize: ({ value }) => [toWire(value), []],
    deserialize: (wire) => {
      throw fromWire(wire);
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
  installed = true;
}
