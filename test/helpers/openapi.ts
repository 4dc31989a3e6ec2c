import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Every answer the end-to-end suites get from a proxy is checked against that proxy's own OpenAPI document
 * (`GET /openapi.json`), with ajv: the status must be declared for the operation (or be the document's 404 /
 * 405 for paths and methods it does not have), and a JSON body must match the declared schema. A stack
 * registers its proxy; `http()` in eventually.ts calls `checkResponse` for every answer from it.
 */
interface Doc {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> }
    >
  >;
}

interface Loaded {
  doc: Doc;
  ajv: Ajv2020;
  /** Document paths as regexes, most specific first. */
  paths: Array<{ template: string; regex: RegExp; statics: number }>;
  validators: Map<string, ValidateFunction>;
}

const proxies = new Map<string, Promise<Loaded>>();

/** How many answers were checked (a suite can assert the check really ran). */
export const checked = { responses: 0, bodies: 0 };

async function load(origin: string): Promise<Loaded> {
  const res = await fetch(`${origin}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${origin}/openapi.json answered ${res.status}`);
  const doc = (await res.json()) as Doc;
  const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  ajv.addSchema(doc as object, 'openapi.json');
  const paths = Object.keys(doc.paths)
    .map((template) => ({
      template,
      regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}/?$`, 'i'),
      statics: template.split('/').filter((s) => s !== '' && !s.startsWith('{')).length,
    }))
    .sort((a, b) => b.statics - a.statics);
  return { doc, ajv, paths, validators: new Map() };
}

/** Registers a proxy whose answers are checked from now on; its document is loaded once. */
export function registerProxy(url: string): void {
  const origin = new URL(url).origin;
  if (!proxies.has(origin)) proxies.set(origin, load(origin));
}

export function unregisterProxy(url: string): void {
  proxies.delete(new URL(url).origin);
}

const pointer = (...parts: string[]): string => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Throws when an answer from a registered proxy does not match its document; ignores other origins. */
export async function checkResponse(
  url: string,
  method: string,
  status: number,
  headers: Headers,
  body: unknown,
): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return;
  }
  const loading = proxies.get(u.origin);
  if (loading === undefined) return;
  const p = await loading;
  const m = method.toLowerCase();
  const where = `${method} ${u.pathname}${u.search} → ${status}`;
  checked.responses += 1;
  let decoded: string | undefined;
  try {
    decoded = decodeURIComponent(u.pathname);
  } catch {
    decoded = undefined;
  }
  const path = decoded === undefined ? undefined : p.paths.find((x) => x.regex.test(decoded));
  const isJson = /application\/json/.test(headers.get('content-type') ?? '');
  let schemaRef: string;
  if (path === undefined || p.doc.paths[path.template]![m] === undefined) {
    if (m === 'head' && path !== undefined && p.doc.paths[path.template]!.get !== undefined) return;
    // Not in the document: only the refusals the document describes for that case (or a malformed target, 400).
    const expected = path === undefined ? 404 : 405;
    if (status !== expected && status !== 400)
      throw new Error(`OpenAPI: ${where}: ${path === undefined ? 'undocumented path' : 'undocumented method'}`);
    if (status === 405 && headers.get('allow') === null) throw new Error(`OpenAPI: ${where}: 405 without Allow`);
    schemaRef = 'openapi.json#/components/schemas/Error';
  } else {
    const responses = p.doc.paths[path.template]![m]!.responses;
    const declared = responses[String(status)] ?? responses.default;
    if (declared === undefined) {
      throw new Error(`OpenAPI: ${where}: status not declared (declared: ${Object.keys(responses).join(', ')})`);
    }
    if (!isJson || declared.content?.['application/json'] === undefined) return;
    const key = String(status) in responses ? String(status) : 'default';
    const at = pointer('paths', path.template, m, 'responses', key, 'content', 'application/json', 'schema');
    schemaRef = `openapi.json#/${at}`;
  }
  if (!isJson || body === undefined) return;
  let validate = p.validators.get(schemaRef);
  if (validate === undefined) {
    validate = p.ajv.getSchema(schemaRef);
    if (validate === undefined) throw new Error(`OpenAPI: no schema at ${schemaRef}`);
    p.validators.set(schemaRef, validate);
  }
  checked.bodies += 1;
  if (!validate(body)) {
    const errors = (validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}`)
      .join('; ');
    throw new Error(
      `OpenAPI: ${where}: body does not match the document: ${errors}; body ${JSON.stringify(body).slice(0, 300)}`,
    );
  }
}
