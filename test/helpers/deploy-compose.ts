import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { fromRoot } from './deploy-tools.js';

export const COMPOSE_FILE = fromRoot('docker-compose.yml');

export interface Healthcheck {
  test?: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  disable?: boolean;
}

export interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string } | string;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: Array<string | { published?: string | number; target?: number; host_ip?: string }>;
  expose?: Array<string | number>;
  healthcheck?: Healthcheck;
  restart?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  secrets?: Array<string | { source: string; target?: string }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  extra_hosts?: string[] | Record<string, string>;
  init?: boolean;
  command?: string[] | string;
  read_only?: boolean;
  pull_policy?: string;
  tmpfs?: string[] | string;
  cap_drop?: string[];
  security_opt?: string[];
}

export interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

export function composeText(): string {
  return readFileSync(COMPOSE_FILE, 'utf8');
}

/** The compose file as js-yaml reads it (anchors and `<<` merge keys resolved, variables not). */
export function loadCompose(text = composeText()): ComposeFile {
  return yaml.load(text) as ComposeFile;
}

/**
 * Compose variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}`, `$VAR` and `$$`. Applied to every string in a parsed file.
 */
export function interpolate<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (whole, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
        if (whole === '$$') return '$';
        if (bare !== undefined) return env[bare] ?? '';
        const v = env[name!];
        const unset = v === undefined || (colon === ':' && v === '');
        if (op === undefined) return v ?? '';
        if (op === '-') return unset ? interpolate(arg ?? '', env) : v!;
        if (unset) throw new Error(`required variable ${name} is missing: ${arg}`);
        return v!;
      },
    ) as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)])) as T;
  }
  return value;
}

/** Every variable name the file refers to. */
export function composeVariables(text = composeText()): Set<string> {
  const names = new Set<string>();
  // Comments are documentation, not configuration.
  const code = text
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, ''))
    .join('\n');
  for (const m of code.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add((m[1] ?? m[2])!);
  return names;
}

export interface PublishedPort {
  hostIp: string;
  published: string;
  target: string;
}

/** Short (`[ip:]published:target[/proto]`) and long port syntax, after interpolation. */
export function parsePort(
  port: PublishedPort | string | { published?: string | number; target?: number; host_ip?: string },
): PublishedPort {
  if (typeof port !== 'string') {
    const p = port as { published?: string | number; target?: number; host_ip?: string; hostIp?: string };
    return {
      hostIp: p.host_ip ?? p.hostIp ?? '',
      published: String(p.published ?? ''),
      target: String(p.target ?? ''),
    };
  }
  const spec = port.replace(/\/(tcp|udp)$/, '');
  const parts = spec.startsWith('[')
    ? [spec.slice(1, spec.indexOf(']')), ...spec.slice(spec.indexOf(']') + 2).split(':')]
    : spec.split(':');
  if (parts.length === 3) return { hostIp: parts[0]!, published: parts[1]!, target: parts[2]! };
  if (parts.length === 2) return { hostIp: '', published: parts[0]!, target: parts[1]! };
  return { hostIp: '', published: '', target: parts[0]! };
}

export function dependsOn(service: Service): Record<string, { condition?: string }> {
  const d = service.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, {}]));
  return d;
}

export function secretNames(service: Service): string[] {
  return (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
}

/** `.env`-style file → map (comments and blank lines skipped, surrounding quotes removed). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) throw new Error(`not a KEY=value line: ${line}`);
    out.set(m[1]!, m[2]!.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'));
  }
  return out;
}
