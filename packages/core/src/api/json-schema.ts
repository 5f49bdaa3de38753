import { InvalidArgumentError, InvalidOperationError, ValidationError } from '../errors.js';
import type { RecordData } from '../model/record.js';

/** A JSON Schema (draft-07, or 2020-12 when its `$schema` says so). */
export type JsonSchema = { [keyword: string]: unknown } | boolean;

/** Registered schemas: the URI a record's `$schema` names → the schema. */
export type SchemaMap = Readonly<Record<string, JsonSchema>>;

interface AjvError {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}
interface AjvValidate {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
interface AjvInstance {
  compile(schema: JsonSchema): AjvValidate;
}
type AjvClass = new (options: Record<string, unknown>) => AjvInstance;

/** The class a dynamic import of a CommonJS module yields, whatever the bundler did with it. */
const classOf = (module: unknown): AjvClass => {
  const outer = (module as { default?: unknown }).default ?? module;
  return ((outer as { default?: unknown }).default ?? outer) as AjvClass;
};

type Flavor = 'draft7' | 'draft2020';

const flavorOf = (schema: JsonSchema): Flavor =>
  typeof schema === 'object' && typeof schema.$schema === 'string' && schema.$schema.includes('2020-12')
    ? 'draft2020'
    : 'draft7';

/**
 * Validates record data against the schema its `$schema` names. Ajv is loaded on first use,
 * and only when schemas are registered, so that a coffer without schemas never downloads it.
 */
export class SchemaValidator {
  private readonly compiled = new Map<string, AjvValidate>();
  private loading: Promise<void> | undefined;
  private readonly ajv = new Map<Flavor, AjvInstance>();

  constructor(private readonly schemas: SchemaMap = {}) {}

  /** The schemas this validator checks against (plain JSON: a worker can be given the same). */
  get registered(): SchemaMap {
    return this.schemas;
  }

  /** Load Ajv when schemas are registered: call before a transaction, which must not wait on imports. */
  async prepare(): Promise<void> {
    const flavors = new Set(Object.values(this.schemas).map(flavorOf));
    if (flavors.size === 0) return;
    this.loading ??= Promise.all(
      [...flavors].map(async (flavor) => {
        const module = flavor === 'draft7' ? await import('ajv') : await import('ajv/dist/2020.js');
        this.ajv.set(
          flavor,
          new (classOf(module))({ allErrors: true, strict: false, validateFormats: false }),
        );
      }),
    ).then(() => undefined);
    await this.loading;
  }

  /**
   * Check `data` against the registered schema named by its `$schema`; data without one, or
   * naming an unregistered schema, passes. Synchronous, so that it can run in a transaction:
   * {@link SchemaValidator.prepare} must have run.
   *
   * @throws {ValidationError} listing every violation; {@link InvalidArgumentError} when the
   *   registered schema does not compile.
   */
  check(data: RecordData): void {
    const uri = data.$schema;
    if (typeof uri !== 'string' || !Object.hasOwn(this.schemas, uri)) return;
    const validate = this.validator(uri);
    if (validate(data)) return;
    const errors = (validate.errors ?? []).map((error) => ({
      path:
        typeof error.params.missingProperty === 'string'
          ? `${error.instancePath}/${error.params.missingProperty}`
          : error.instancePath,
      message: error.message ?? 'is invalid',
    }));
    throw new ValidationError(`The record does not match ${uri}: ${errors.length} violation(s).`, {
      expected: uri,
      errors,
    });
  }

  private validator(uri: string): AjvValidate {
    const known = this.compiled.get(uri);
    if (known) return known;
    const schema = this.schemas[uri] as JsonSchema;
    const ajv = this.ajv.get(flavorOf(schema));
    if (!ajv) throw new InvalidOperationError('SchemaValidator.prepare() must run before check().');
    try {
      const validate = ajv.compile(schema);
      this.compiled.set(uri, validate);
      return validate;
    } catch (cause) {
      throw new InvalidArgumentError(`The schema ${uri} does not compile.`, { cause, argument: 'schemas' });
    }
  }
}
