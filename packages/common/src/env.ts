import { readFileSync } from 'node:fs';

/**
 * Environment parsing shared by every process. Each reader validates at start-up and throws
 * {@link ConfigError} with an "expected X, got Y" message, so a process fails before it listens.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function envString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function envOptionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

interface Range {
  min?: number;
  max?: number;
}

function envNumeric(env: Env, name: string, fallback: number, range: Range, integer: boolean): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  const min = range.min ?? (integer ? Number.MIN_SAFE_INTEGER : -Infinity);
  const max = range.max ?? (integer ? Number.MAX_SAFE_INTEGER : Infinity);
  const wellFormed = integer ? /^-?\d+$/.test(v) && Number.isSafeInteger(n) : Number.isFinite(n);
  if (!wellFormed || n < min || n > max) {
    throw new ConfigError(
      `Expected ${name} to be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

export function envInt(env: Env, name: string, fallback: number, range: Range = {}): number {
  return envNumeric(env, name, fallback, range, true);
}

export function envNumber(env: Env, name: string, fallback: number, range: Range = {}): number {
  return envNumeric(env, name, fallback, range, false);
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const lower = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(`Expected ${name} to be true or false, got ${JSON.stringify(v)}`);
}

export function envEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`Expected ${name} to be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * A secret from `NAME` or from the file named by `NAME_FILE` (compose/k8s secrets). Never logged.
 * Setting both is an error: it is ambiguous which one wins.
 */
export function envSecret(env: Env, name: string): string | undefined {
  const direct = raw(env, name);
  const file = raw(env, `${name}_FILE`);
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(`Expected only one of ${name} and ${name}_FILE, got both`);
  }
  if (file === undefined) return direct;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `Expected ${name}_FILE to name a readable file, got ${JSON.stringify(file)} (${(err as Error).message})`,
    );
  }
}

/** True for addresses that never leave the machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}
