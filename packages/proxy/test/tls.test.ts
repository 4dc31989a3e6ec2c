import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  configWithDefaults,
  hashApiKey,
  InsecureListenError,
  loadConfig,
  parseApiKeys,
  startProxy,
} from '../src/index.js';
import { request, silent } from './helpers.js';
import { StubWorker } from './stub-worker.js';

describe('entrypoint – TLS and exposure rules', () => {
  let stub: StubWorker;
  let dataDir: string;
  const key = 'k-0123456789abcdef';
  const apiKeys = parseApiKeys(`ops:read+trade+admin:${hashApiKey(key)}`);
  before(async () => {
    stub = await StubWorker.start(0);
    dataDir = await mkdtemp(join(tmpdir(), 'ibproxy-tls-'));
  });
  after(async () => {
    await stub.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const base = () => ({ port: 0, workers: [{ clientId: 0, url: new URL(stub.url) }], dataDir });

  it('refuses 0.0.0.0 without API keys', async () => {
    await assert.rejects(
      startProxy(configWithDefaults({ ...base(), host: '0.0.0.0' }), { logger: silent }),
      (err: unknown) => {
        assert.ok(err instanceof InsecureListenError);
        assert.match(err.message, /no API keys.*--insecure/);
        return true;
      },
    );
  });

  it('refuses 0.0.0.0 without TLS when self-signing is off, unless --insecure', async () => {
    const cfg = configWithDefaults({ ...base(), host: '0.0.0.0', apiKeys, tls: { selfSigned: false } });
    await assert.rejects(startProxy(cfg, { logger: silent }), /no TLS certificate/);
    const insecure = await startProxy({ ...cfg, insecure: true }, { logger: silent });
    try {
      assert.equal(insecure.protocol, 'http');
    } finally {
      await insecure.close();
    }
  });

  it('beyond loopback, no certificate: creates a self-signed one once, logs its fingerprint, reuses it', async () => {
    const lines: string[] = [];
    const { createLogger } = await import('@ibrest/common');
    // Captures every log call's arguments; the level is above info output so nothing is printed.
    const capture = createLogger('t', 'info', {
      hooks: {
        logMethod(args) {
          lines.push(JSON.stringify(args));
        },
      },
    });
    const cfg = configWithDefaults({ ...base(), host: '0.0.0.0', apiKeys });
    const first = await startProxy(cfg, { logger: capture });
    let fp: string;
    try {
      assert.equal(first.protocol, 'https');
      const pem = await readFile(join(dataDir, 'tls', 'self-signed-cert.pem'), 'utf8');
      fp = new X509Certificate(pem).fingerprint256;
      assert.equal(first.fingerprint256, fp);
      assert.ok(lines.some((l) => l.includes('generated a self-signed TLS certificate') && l.includes(fp)));
      const r = await request(`https://127.0.0.1:${first.port}/health/live`, { ca: first.certificate });
      assert.equal(r.status, 200);
      const denied = await request(`https://127.0.0.1:${first.port}/order`, { ca: first.certificate });
      assert.equal(denied.status, 401);
    } finally {
      await first.close();
    }
    const second = await startProxy(cfg, { logger: silent });
    try {
      assert.equal(second.fingerprint256, fp, 'the same certificate after a restart');
    } finally {
      await second.close();
    }
  });

  it('serves HTTPS with an operator certificate from TLS_CERT_FILE / TLS_KEY_FILE', async () => {
    const cfg = loadConfig({
      WORKERS: `0=${stub.url}`,
      PORT: '0',
      TLS_CERT_FILE: join(dataDir, 'tls', 'self-signed-cert.pem'),
      TLS_KEY_FILE: join(dataDir, 'tls', 'self-signed-key.pem'),
    });
    const proxy = await startProxy(cfg, { logger: silent });
    try {
      assert.equal(proxy.protocol, 'https');
      const r = await request(`https://localhost:${proxy.port}/health/live`, { ca: proxy.certificate });
      assert.equal(r.status, 200);
    } finally {
      await proxy.close();
    }
  });
});
