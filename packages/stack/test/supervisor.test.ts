import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServiceExitedError, startService, waitForOk } from '../src/service.js';
import { Supervised } from '../src/supervisor.js';

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'flaky-service.js');

test('startService – learns the port from the "listening" line and stops with SIGTERM', async () => {
  const svc = startService({ name: 'flaky', script: fixture });
  const { port, url } = await svc.listening;
  assert.ok(port > 0);
  assert.equal(url, `http://127.0.0.1:${port}`);
  assert.equal(await waitForOk(`${url}/health/ready`, 5_000), 200);
  await svc.stop(5_000);
  assert.equal(await svc.exited, 0);
});

test('startService – a child that dies before listening rejects with its last output', async () => {
  const svc = startService({ name: 'dead', script: fixture, env: { EXIT_AT_START: '1' } });
  await assert.rejects(svc.listening, (err: Error) => {
    assert.ok(err instanceof ServiceExitedError);
    assert.match(err.message, /dead exited \(4\)/);
    assert.match(err.message, /refusing to start/);
    return true;
  });
});

test('Supervised – restarts a crashed child with backoff, and stop() ends it for good', async () => {
  const exits: Array<{ code: number | string; delay: number | undefined }> = [];
  const sup = new Supervised({
    spec: { name: 'flaky', script: fixture },
    initialBackoffMs: 50,
    maxBackoffMs: 100,
    onExit: (code, delay) => exits.push({ code, delay }),
  });
  const first = sup.start();
  const { url } = await first.listening;
  await fetch(`${url}/crash`).then((r) => r.text());
  assert.equal(await first.exited, 3);
  // The supervisor starts a new process after the backoff.
  const deadline = Date.now() + 5_000;
  while (sup.service === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const second = sup.service!;
  assert.notEqual(second, first);
  assert.notEqual(second.pid, first.pid);
  const again = await second.listening;
  await fetch(`${again.url}/crash`).then((r) => r.text());
  await second.exited;
  while (sup.service === second && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 20));
  await sup.service!.listening;
  assert.deepEqual(
    exits.map((e) => e.code),
    [3, 3],
  );
  assert.deepEqual(
    exits.map((e) => e.delay),
    [50, 100],
    'backoff doubles up to its cap',
  );
  const third = sup.service!;
  await sup.stop(5_000);
  assert.equal(await third.exited, 0);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sup.service, third, 'no restart after stop()');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('startService – children exit by themselves when their parent is killed with SIGKILL', async () => {
  const parentScript = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'parent.js');
  const parent = spawn(process.execPath, [parentScript, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pids = await new Promise<number[]>((resolve, reject) => {
    const lines = createInterface({ input: parent.stdout! });
    lines.on('line', (line) => resolve((JSON.parse(line) as { pids: number[] }).pids));
    parent.once('exit', (code) => reject(new Error(`parent exited ${code}`)));
  });
  assert.equal(pids.length, 3);
  assert.ok(pids.every(alive));
  const exited = new Promise((r) => parent.once('exit', r));
  parent.kill('SIGKILL');
  await exited;
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(alive), [], 'no orphan outlives its parent by 15 s');
});
