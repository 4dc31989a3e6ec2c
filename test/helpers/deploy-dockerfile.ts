import { readFileSync } from 'node:fs';
import { fromRoot } from './deploy-tools.js';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(file: string): Stage[] {
  const lines = readFileSync(fromRoot(file), 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const text = pending + line;
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(text);
    if (m) instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      stages.push({ image: m?.[1] ?? ins.args, name: m?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

export function stage(stages: Stage[], name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no stage named ${name}`);
  return s;
}

export function all(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.keyword === keyword);
}

/** Stages `s` copies from (COPY --from=<stage>), transitively, itself included. */
export function lineage(stages: Stage[], s: Stage): Stage[] {
  const seen = new Map<string | undefined, Stage>([[s.name, s]]);
  const queue = [s];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const copy of all(current, 'COPY')) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1];
      const source = stages.find((x) => x.name === from);
      if (source && !seen.has(source.name)) {
        seen.set(source.name, source);
        queue.push(source);
      }
    }
  }
  return [...seen.values()];
}

/** A minimal .dockerignore matcher: later rules win, `!` re-includes, `**` spans directories. */
export function dockerIgnored(path: string, rules: string[]): boolean {
  let ignored = false;
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  for (const raw of rules) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(
      '^' +
        pattern
          .split('/')
          .map((part) =>
            part === '**'
              ? '(?:.*)'
              : part
                  .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                  .replace(/\*/g, '[^/]*')
                  .replace(/\?/g, '[^/]'),
          )
          .join('/')
          .replace(/\(\?:\.\*\)\//g, '(?:.*/)?') +
        '$',
    );
    if (candidates.some((c) => re.test(c))) ignored = !negate;
  }
  return ignored;
}

export function dockerignoreRules(): string[] {
  return readFileSync(fromRoot('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
