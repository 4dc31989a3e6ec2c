import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, envBool, envEnum, envInt, envNumber, envSecret, isLoopback } from '../src/env.js';

const rejects = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: Error) => err instanceof ConfigError && message.test(err.message));

test('envInt – default, valid value, and "expected X, got Y" on bad input', () => {
  assert.equal(envInt({}, 'N', 7), 7);
  assert.equal(envInt({ N: ' 12 ' }, 'N', 7, { min: 0, max: 20 }), 12);
  rejects(() => envInt({ N: '1.5' }, 'N', 7), /Expected N to be an integer from .* got "1.5"/);
  rejects(() => envInt({ N: '21' }, 'N', 7, { min: 0, max: 20 }), /Expected N to be an integer from 0 to 20, got "21"/);
});

test('envNumber – accepts decimals within range', () => {
  assert.equal(envNumber({ X: '0.25' }, 'X', 1, { min: 0, max: 1 }), 0.25);
  rejects(() => envNumber({ X: 'NaN' }, 'X', 1), /Expected X to be a number/);
});

test('envBool and envEnum – readable errors', () => {
  assert.equal(envBool({ B: 'yes' }, 'B', false), true);
  assert.equal(envBool({ B: 'off' }, 'B', true), false);
  rejects(() => envBool({ B: 'maybe' }, 'B', false), /Expected B to be true or false, got "maybe"/);
  assert.equal(envEnum({ E: 'b' }, 'E', ['a', 'b'] as const, 'a'), 'b');
  rejects(() => envEnum({ E: 'c' }, 'E', ['a', 'b'] as const, 'a'), /Expected E to be one of a, b, got "c"/);
});

test('envSecret – from the variable or from NAME_FILE, never both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-'));
  const file = join(dir, 'key');
  writeFileSync(file, 's3cret\n');
  assert.equal(envSecret({ K: 'direct' }, 'K'), 'direct');
  assert.equal(envSecret({ K_FILE: file }, 'K'), 's3cret');
  assert.equal(envSecret({}, 'K'), undefined);
  rejects(() => envSecret({ K: 'a', K_FILE: file }, 'K'), /only one of K and K_FILE/);
  rejects(() => envSecret({ K_FILE: join(dir, 'missing') }, 'K'), /Expected K_FILE to name a readable file/);
});

test('isLoopback – loopback names and addresses only', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) assert.equal(isLoopback(h), false, h);
});
