import { ConfigError, envSecret, type Env } from '@ibrest/common';
import { PERMISSIVE_POLICY, type OrderPolicy } from './safety-policy.js';

/**
 * Policy configuration, JSON:
 *
 * ```json
 * { "default": { "maxQuantity": 1000, "priceBandPercent": 10 },
 *   "keys": { "algo-1": { "symbols": ["AAPL", "MSFT"], "maxNotional": 50000 },
 *             "dashboard": { "readOnly": true },
 *             "desk": { "maxQuantity": null } } }
 * ```
 *
 * A key's rule is the default rule with the key's fields laid over it; `null` removes a limit the default sets.
 * Keys are API key *names* (as the proxy knows them), never secrets.
 */
export interface OrderPolicyConfig {
  default: OrderPolicy;
  // API key name → its merged policy
  keys: Record<string, OrderPolicy>;
}

/** IB's secType values; a typo such as "STOCK" would otherwise silently refuse every order. */
export const IB_SEC_TYPES = [
  'STK',
  'OPT',
  'FUT',
  'CONTFUT',
  'CASH',
  'BOND',
  'CFD',
  'FOP',
  'WAR',
  'IOPT',
  'FWD',
  'BAG',
  'IND',
  'BILL',
  'FUND',
  'FIXED',
  'SLB',
  'NEWS',
  'CMDTY',
  'BSK',
  'ICU',
  'ICS',
  'CRYPTO',
] as const;

const RULE_FIELDS = ['readOnly', 'symbols', 'secTypes', 'maxQuantity', 'maxNotional', 'priceBandPercent'] as const;

type RuleOverride = { [K in keyof OrderPolicy]?: OrderPolicy[K] | null };

export const EMPTY_POLICY_CONFIG: OrderPolicyConfig = Object.freeze({ default: PERMISSIVE_POLICY, keys: {} });

/** Validates a parsed JSON value; `source` names it in error messages (e.g. `ORDER_POLICY`). */
export function parseOrderPolicyConfig(value: unknown, source = 'policy'): OrderPolicyConfig {
  const root = expectObject(value, source);
  for (const field of Object.keys(root)) {
    if (field !== 'default' && field !== 'keys')
      throw new ConfigError(`Expected ${source} to have only "default" and "keys", got ${JSON.stringify(field)}`);
  }
  const base = apply(PERMISSIVE_POLICY, parseRule(root.default ?? {}, `${source}.default`));
  const keys: Record<string, OrderPolicy> = {};
  const keysObj = expectObject(root.keys ?? {}, `${source}.keys`);
  for (const [name, rule] of Object.entries(keysObj)) {
    if (name.trim() === '')
      throw new ConfigError(`Expected ${source}.keys to be named by API key names, got an empty name`);
    keys[name] = apply(base, parseRule(rule, `${source}.keys[${JSON.stringify(name)}]`));
  }
  return { default: base, keys };
}

/** Reads `ORDER_POLICY` (JSON text) or `ORDER_POLICY_FILE` (path to a JSON file); neither → no limits. */
export function loadOrderPolicyConfig(env: Env = process.env): OrderPolicyConfig {
  const text = envSecret(env, 'ORDER_POLICY');
  if (text === undefined) return EMPTY_POLICY_CONFIG;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Expected ORDER_POLICY to be JSON, got a parse error: ${(err as Error).message}`);
  }
  return parseOrderPolicyConfig(parsed, 'ORDER_POLICY');
}

/** The policy for an API key name; unknown names (and requests without a key) get the default. */
export function policyForKey(config: OrderPolicyConfig, apiKeyName: string | undefined): OrderPolicy {
  return (
    (apiKeyName !== undefined && Object.hasOwn(config.keys, apiKeyName) ? config.keys[apiKeyName] : undefined) ??
    config.default
  );
}

function parseRule(value: unknown, path: string): RuleOverride {
  const obj = expectObject(value, path);
  const rule: RuleOverride = {};
  for (const [field, v] of Object.entries(obj)) {
    const at = `${path}.${field}`;
    switch (field) {
      case 'readOnly':
        if (typeof v !== 'boolean') throw mismatch(at, 'true or false', v);
        rule.readOnly = v;
        break;
      case 'symbols':
        rule.symbols = v === null ? null : stringList(v, at).map((s) => s.toUpperCase());
        break;
      case 'secTypes': {
        if (v === null) {
          rule.secTypes = null;
          break;
        }
        const list = stringList(v, at).map((s) => s.toUpperCase());
        const unknown = list.find((s) => !(IB_SEC_TYPES as readonly string[]).includes(s));
        if (unknown !== undefined) throw mismatch(`${at}[]`, `an IB secType (${IB_SEC_TYPES.join(', ')})`, unknown);
        rule.secTypes = list;
        break;
      }
      case 'maxQuantity':
      case 'maxNotional':
      case 'priceBandPercent':
        if (v !== null && !(typeof v === 'number' && Number.isFinite(v) && v > 0))
          throw mismatch(at, 'a number > 0 or null', v);
        rule[field] = v;
        break;
      default:
        throw new ConfigError(
          `Expected ${path} fields to be among ${RULE_FIELDS.join(', ')}, got ${JSON.stringify(field)}`,
        );
    }
  }
  return rule;
}

function apply(base: OrderPolicy, rule: RuleOverride): OrderPolicy {
  const out: Record<string, unknown> = { ...base };
  for (const [field, v] of Object.entries(rule)) {
    if (v === null) delete out[field];
    else out[field] = v;
  }
  return Object.freeze(out) as unknown as OrderPolicy;
}

function stringList(v: unknown, at: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw mismatch(at, 'a non-empty array of non-empty strings or null', v);
  }
  return v.map((s: string) => s.trim());
}

function expectObject(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw mismatch(at, 'an object', v);
  return v as Record<string, unknown>;
}

function mismatch(at: string, expected: string, got: unknown): ConfigError {
  return new ConfigError(`Expected ${at} to be ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}
