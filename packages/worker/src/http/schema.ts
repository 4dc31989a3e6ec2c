/**
 * The subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) the worker's routes are described with.
 * One schema object serves twice: it is published in /openapi.json and it validates the request here,
 * so the document and the checks cannot drift apart.
 */
export interface Schema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  description?: string;
  enum?: readonly (string | number | boolean)[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  oneOf?: readonly Schema[];
  examples?: readonly unknown[];
  default?: unknown;
  $ref?: string;
}

export interface FieldError {
  /** JSON-pointer-like path of the offending field ("order.totalQuantity", "query.timeout"). */
  field: string;
  message: string;
}

/** Validates `value` against `schema`, collecting every error (not just the first). */
export function validate(schema: Schema, value: unknown, path: string, errors: FieldError[] = []): FieldError[] {
  const fail = (message: string) => errors.push({ field: path, message });
  if (schema.oneOf !== undefined) {
    const branches = schema.oneOf.map((s) => validate(s, value, path));
    const ok = branches.filter((b) => b.length === 0).length;
    if (ok !== 1) {
      // Report the branch that got furthest (fewest errors), which is what the caller most likely meant.
      const best = branches.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(...(best.length > 0 ? best : [{ field: path, message: 'matches more than one allowed form' }]));
    }
    return errors;
  }
  if (schema.type !== undefined && !hasType(schema.type, value)) {
    fail(`expected ${schema.type}, got ${describe(value)}`);
    return errors;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    fail(`expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`expected ≥ ${schema.minimum}, got ${value}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      fail(`expected > ${schema.exclusiveMinimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`expected ≤ ${schema.maximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      fail(`expected at least ${schema.minLength} characters, got ${value.length}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      fail(`expected at most ${schema.maxLength} characters, got ${value.length}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
      fail(`expected to match ${schema.pattern}, got ${JSON.stringify(value)}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail(`expected at least ${schema.minItems} items, got ${value.length}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      fail(`expected at most ${schema.maxItems} items, got ${value.length}`);
    if (schema.items !== undefined) value.forEach((v, i) => validate(schema.items!, v, `${path}[${i}]`, errors));
  }
  if (schema.type === 'object' && isObject(value)) {
    for (const k of schema.required ?? [])
      if (value[k] === undefined) errors.push({ field: join(path, k), message: 'is required' });
    for (const [k, v] of Object.entries(value)) {
      const prop = schema.properties?.[k];
      if (prop !== undefined) validate(prop, v, join(path, k), errors);
      else if (schema.additionalProperties === false)
        errors.push({ field: join(path, k), message: 'is not a known field' });
      else if (typeof schema.additionalProperties === 'object')
        validate(schema.additionalProperties, v, join(path, k), errors);
    }
  }
  return errors;
}

/**
 * Query strings arrive as text: convert each known parameter to its schema type first, leaving
 * unconvertible text as is so validation reports it ("expected integer, got "abc"").
 */
export function coerceQuery(schema: Schema, query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) {
    const prop = schema.properties?.[k];
    if (prop === undefined || typeof v !== 'string') {
      out[k] = v;
      continue;
    }
    out[k] = coerce(prop.type, v);
  }
  return out;
}

function coerce(type: Schema['type'], v: string): unknown {
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(v) ? Number(v) : v;
    case 'number':
      return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    case 'boolean':
      return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v;
    default:
      return v;
  }
}

function hasType(type: NonNullable<Schema['type']>, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'object';
  return `${typeof v} ${String(v)}`;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
