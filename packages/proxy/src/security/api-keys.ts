import { createHash } from 'node:crypto';
import { ConfigError } from '@ibrest/common';

export const SCOPES = ['read', 'trade', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * One configured API key. Only the SHA-256 of the key is ever held. `policy` is opaque here: the order
 * path's safety policy (per-key limits, allowlists) reads it; the proxy only carries it to that check.
 */
export interface ApiKeyRecord {
  /** Operator-chosen name, safe to log (the key itself never is). */
  name: string;
  /** `sha256:<64 hex>`, as printed by `ibrest-proxy hash-key`. */
  hash: string;
  /** Scopes are explicit, none implies another: a trading key is usually `read+trade`. */
  scopes: ReadonlySet<Scope>;
  policy?: Readonly<Record<string, unknown>>;
}

const HASH_RE = /^sha256:[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** The stored form of a key: `sha256:` + lowercase hex digest of its UTF-8 bytes. */
export function hashApiKey(key: string): string {
  return 'sha256:' + createHash('sha256').update(key, 'utf8').digest('hex');
}

function parseScopes(raw: unknown, where: string): Set<Scope> {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split('+') : undefined;
  if (list === undefined || list.length === 0) {
    throw new ConfigError(
      `Expected ${where} scopes to be a non-empty list of ${SCOPES.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  const out = new Set<Scope>();
  for (const s of list) {
    if (!(SCOPES as readonly unknown[]).includes(s)) {
      throw new ConfigError(`Expected ${where} scope to be one of ${SCOPES.join(', ')}, got ${JSON.stringify(s)}`);
    }
    out.add(s as Scope);
  }
  return out;
}

function record(name: unknown, hash: unknown, scopes: unknown, policy: unknown, where: string): ApiKeyRecord {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ConfigError(`Expected ${where} name to match ${NAME_RE}, got ${JSON.stringify(name)}`);
  }
  // The hash is echoed only by shape, never by value: a plaintext key pasted here by mistake must not reach logs.
  if (typeof hash !== 'string' || !HASH_RE.test(hash.toLowerCase())) {
    const shape = typeof hash === 'string' ? hash.length + ' characters' : typeof hash;
    throw new ConfigError(
      `Expected ${where} hash to be sha256:<64 hex digits> (see ibrest-proxy hash-key), got a value of ${shape}`,
    );
  }
  if (policy !== undefined && (policy === null || typeof policy !== 'object' || Array.isArray(policy))) {
    throw new ConfigError(`Expected ${where} policy to be an object, got ${JSON.stringify(policy)}`);
  }
  return {
    name,
    hash: hash.toLowerCase(),
    scopes: parseScopes(scopes, where),
    ...(policy === undefined ? {} : { policy: policy as Record<string, unknown> }),
  };
}

/**
 * Parses `API_KEYS` (or the file named by `API_KEYS_FILE`). Two forms:
 * - compact, entries separated by commas or newlines: `name:scope+scope:sha256:<hex>`
 * - JSON array (needed for per-key policy):
 *   `[{"name":"algo1","scopes":["read","trade"],"hash":"sha256:…","policy":{…}}]`
 */
export function parseApiKeys(raw: string | undefined): ApiKeyRecord[] {
  if (raw === undefined || raw.trim() === '') return [];
  const text = raw.trim();
  let records: ApiKeyRecord[];
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`Expected API_KEYS to be valid JSON, got a parse error: ${(err as Error).message}`);
    }
    records = (parsed as unknown[]).map((e, i) => {
      const o = (e ?? {}) as Record<string, unknown>;
      return record(o.name, o.hash, o.scopes, o.policy, `API_KEYS[${i}]`);
    });
  } else {
    records = text
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== '' && !s.startsWith('#'))
      .map((entry, i) => {
        const m = /^([^:]+):([^:]+):(sha256:.*)$/.exec(entry);
        if (m === null) {
          throw new ConfigError(
            `Expected API_KEYS entry ${i + 1} to be name:scopes:sha256:<hex>, ` +
              `got an entry of ${entry.length} characters`,
          );
        }
        return record(m[1], m[3], m[2], undefined, `API_KEYS entry ${i + 1} (${m[1]})`);
      });
  }
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.hash))
      throw new ConfigError(`Expected every API key to be distinct, got the same hash twice (${r.name})`);
    seen.add(r.hash);
  }
  return records;
}

/** hash → record. Lookup by digest keeps comparison time independent of how much of a guess was right. */
export class ApiKeyStore {
  private readonly byHash = new Map<string, ApiKeyRecord>();

  constructor(records: readonly ApiKeyRecord[]) {
    for (const r of records) this.byHash.set(r.hash, r);
  }

  get size(): number {
    return this.byHash.size;
  }

  find(presented: string): ApiKeyRecord | undefined {
    return this.byHash.get(hashApiKey(presented));
  }
}
