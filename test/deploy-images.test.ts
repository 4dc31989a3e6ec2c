import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  all,
  dockerIgnored,
  dockerignoreRules,
  lineage,
  parseDockerfile,
  stage,
  type Stage,
} from './helpers/deploy-dockerfile.js';
import { fromRoot, run, tempDir, which } from './helpers/deploy-tools.js';

const HEALTHCHECK_SCRIPT = fromRoot('deploy', 'docker', 'healthcheck.mjs');
const NODE_IMAGE = /^node:26\.\d+\.\d+-bookworm-slim$/;

/** Each runnable image: Dockerfile, stage, the package whose bin it runs. */
const IMAGES = [
  { file: 'worker.Dockerfile', target: 'worker', pkg: 'worker', health: '/health/live' },
  { file: 'worker.Dockerfile', target: 'sim', pkg: 'gateway-sim', health: undefined },
  { file: 'proxy.Dockerfile', target: 'proxy', pkg: 'proxy', health: '/health/live' },
] as const;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function healthcheck(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'IB_CLIENT_ID'].includes(k)),
  );
  return run(process.execPath, [HEALTHCHECK_SCRIPT, ...args], { env: { ...clean, ...env }, timeoutMs: 10_000 });
}

describe('Dockerfiles', () => {
  for (const file of ['worker.Dockerfile', 'proxy.Dockerfile']) {
    it(`${file} passes dockerfilelint`, async () => {
      const lint = which('dockerfilelint');
      assert.ok(lint, 'node_modules/.bin/dockerfilelint missing (npm ci)');
      const res = await run(lint, [file]);
      assert.equal(res.code, 0, res.stdout + res.stderr);
    });

    it(`${file} uses one pinned node:26 slim image in every stage that pulls one`, () => {
      const stages = parseDockerfile(file);
      assert.ok(stages.length >= 3, 'expected a multi-stage build');
      const names = new Set(stages.map((s) => s.name));
      const pulled = stages.filter((s) => s.image !== 'scratch' && !names.has(s.image));
      for (const s of pulled) assert.match(s.image, NODE_IMAGE, `stage ${s.name}`);
      assert.equal(new Set(pulled.map((s) => s.image)).size, 1, 'stages use different base images');
    });

    it(`${file} needs no BuildKit frontend from a registry (no # syntax= line)`, () => {
      assert.doesNotMatch(readFileSync(fromRoot(file), 'utf8'), /^#\s*syntax\s*=/im);
    });

    it(`${file} installs for the build only what its images need, not every workspace`, () => {
      const stages = parseDockerfile(file);
      for (const s of stages) {
        for (const r of all(s, 'RUN').filter((x) => /\bnpm ci\b/.test(x.args))) {
          assert.match(r.args, /--workspace @ibrest\/\S+/, `${file}:${r.line} installs every workspace`);
        }
      }
    });
  }

  for (const image of IMAGES) {
    describe(`${image.file} target ${image.target}`, () => {
      const stages = parseDockerfile(image.file);
      const final: Stage = stage(stages, image.target);
      const ancestry = lineage(stages, final);
      const runs = ancestry.flatMap((s) => all(s, 'RUN').map((r) => r.args));

      it('compiles with the dev dependencies and ships production dependencies only', () => {
        assert.ok(
          runs.some((r) => /\bnpm ci\b(?![^&]*--omit=dev)/.test(r)),
          'no build stage with a full npm ci',
        );
        assert.ok(
          runs.some((r) => new RegExp(`tsc --build [^&]*packages/${image.pkg}\\b`).test(r)),
          `packages/${image.pkg} is not compiled`,
        );
        const depsStage = ancestry.find((s) => all(s, 'RUN').some((r) => /npm ci --omit=dev/.test(r.args)));
        assert.ok(depsStage, 'no stage installs production dependencies');
        assert.match(
          all(depsStage, 'RUN')
            .map((r) => r.args)
            .join('\n'),
          new RegExp(`--workspace @ibrest/${image.pkg}\\b`),
        );
        // The runtime stage itself never installs dev dependencies or runs the compiler.
        for (const r of all(final, 'RUN')) assert.doesNotMatch(r.args, /npm (ci|install)|tsc/);
      });

      it('runs from a root with node and its libraries only: no shell, npm or package manager', () => {
        // The final stage descends (FROM) from a stage built on scratch that copies only the runtime root.
        let base: Stage = final;
        while (base.image !== 'scratch') base = stage(stages, base.image);
        const copies = all(base, 'COPY').map((c) => c.args);
        assert.equal(copies.length, 1, `${base.name} copies more than the runtime root`);
        const root = stage(stages, /--from=(\S+)/.exec(copies[0]!)![1]!);
        const build = all(root, 'RUN')
          .map((r) => r.args)
          .join('\n');
        assert.match(build, /strip -o \/rootfs\/usr\/local\/bin\/node/);
        assert.match(build, /ldd \/usr\/local\/bin\/node/);
        assert.doesNotMatch(build, /cp[^&]*\/bin\/(ba)?sh|npm[^&]*\/rootfs/);
      });

      it('runs as a non-root user with SIGTERM as stop signal', () => {
        const users = all(final, 'USER').map((u) => u.args);
        assert.ok(users.length > 0, 'no USER');
        assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/);
        assert.deepEqual(
          all(final, 'STOPSIGNAL').map((s) => s.args),
          ['SIGTERM'],
        );
      });

      it('starts the package entry point and has a HEALTHCHECK that needs only node', () => {
        const pkg = JSON.parse(readFileSync(fromRoot('packages', image.pkg, 'package.json'), 'utf8')) as {
          bin: Record<string, string>;
        };
        const cmd = JSON.parse(all(final, 'CMD').at(-1)!.args) as string[];
        assert.deepEqual(cmd.slice(0, 2), ['node', `packages/${image.pkg}/dist/src/main.js`]);
        // The image runs what the package's bin runs: the bin is that file, or a wrapper importing it.
        const runsMain = (bin: string) =>
          bin.replace(/^\.\//, '') === 'dist/src/main.js' ||
          readFileSync(fromRoot('packages', image.pkg, bin), 'utf8').includes(
            `'${relative(dirname(bin), 'dist/src/main.js')}'`,
          );
        assert.ok(
          Object.values(pkg.bin).some(runsMain),
          `CMD ${cmd.join(' ')} is not what the bin of ${image.pkg} runs`,
        );
        const hc = all(final, 'HEALTHCHECK').at(-1);
        assert.ok(hc, 'no HEALTHCHECK');
        const test = JSON.parse(hc.args.replace(/^(--\S+\s+)*CMD\s+/, '')) as string[];
        assert.equal(test[0], 'node', 'slim images have no curl/wget; the probe must be node');
        if (image.health)
          assert.ok(test.includes(image.health), `probe does not ask ${image.health}: ${test.join(' ')}`);
      });

      it('copies only files the build context keeps', () => {
        const rules = dockerignoreRules();
        for (const s of ancestry) {
          for (const copy of all(s, 'COPY').filter((c) => !c.args.includes('--from='))) {
            const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
            for (const src of parts.slice(0, -1)) {
              if (src === '.') continue;
              assert.ok(
                !dockerIgnored(src.replace(/\/$/, ''), rules),
                `${image.file}:${copy.line} copies ${src}, which .dockerignore excludes`,
              );
            }
          }
        }
      });
    });
  }

  it('.dockerignore keeps build output, dependencies and secrets out of the context', () => {
    const rules = dockerignoreRules();
    for (const p of [
      'node_modules',
      'packages/worker/node_modules',
      'packages/proxy/dist',
      '.git',
      '.env',
      'secrets/api-keys',
      '.data/x',
    ]) {
      assert.ok(dockerIgnored(p, rules), `${p} would be sent to the Docker daemon`);
    }
    const needed = ['package.json', 'package-lock.json', 'packages/worker/src/main.ts', 'tsconfig.base.json'];
    for (const p of [...needed, 'deploy/docker/healthcheck.mjs', 'deploy/docker/apply-patches.mjs']) {
      assert.ok(!dockerIgnored(p, rules), `${p} is needed by the build but excluded`);
    }
  });
});

describe('container health probe (deploy/docker/healthcheck.mjs)', () => {
  let secrets: ReturnType<typeof tempDir>;
  let hasOpenssl = false;

  before(async () => {
    secrets = tempDir('ibrest-secrets-');
    hasOpenssl = which('openssl') !== undefined;
    if (hasOpenssl) {
      const res = await run('sh', [fromRoot('deploy', 'make-secrets.sh')], {
        env: { ...process.env, SECRETS_DIR: join(secrets.path, 's') },
      });
      assert.equal(res.code, 0, res.stderr);
    }
  });
  after(() => secrets.remove());

  it('passes on 200 and fails on 503 from a plain HTTP service', async () => {
    const server = createHttpServer((req, res) => {
      res.statusCode = req.url === '/health/live' ? 200 : 503;
      res.end('{}');
    });
    const port = await listen(server);
    try {
      const ok = await healthcheck(['/health/live', '1'], { PORT: String(port) });
      assert.equal(ok.code, 0, ok.stderr);
      const down = await healthcheck(['/health/ready', '1'], { PORT: String(port) });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /answered 503/);
    } finally {
      await close(server);
    }
  });

  it('passes against a TLS service with a self-signed certificate', async (t) => {
    if (!hasOpenssl) return t.skip('openssl is not installed');
    const dir = join(secrets.path, 's');
    const server = createHttpsServer(
      { cert: readFileSync(join(dir, 'tls-cert.pem')), key: readFileSync(join(dir, 'tls-key.pem')) },
      (_req, res) => res.end('{}'),
    );
    const port = await listen(server);
    try {
      const res = await healthcheck(['/health/live', '1'], { PORT: String(port), HOST: '0.0.0.0' });
      assert.equal(res.code, 0, res.stderr);
    } finally {
      await close(server);
    }
  });

  it('derives the worker port from IB_CLIENT_ID and fails fast when nothing listens', async () => {
    const res = await healthcheck(['/health/live', 'worker'], { IB_CLIENT_ID: '31' });
    if (res.code === 0) return; // something on this machine answers on 5031; the derivation still worked
    assert.match(res.stderr, /127\.0\.0\.1:5031\/health\/live/);
  });

  it('rejects a bad PORT with the expected/got wording', async () => {
    const res = await healthcheck(['/health/live', '8080'], { PORT: 'http' });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /expected PORT to be an integer from 1 to 65535, got "http"/);
  });
});

describe('deploy/docker/apply-patches.mjs (patches/ in an image build)', () => {
  const PATCH_PACKAGE = fromRoot('node_modules', 'patch-package');
  const SCRIPT = fromRoot('deploy', 'docker', 'apply-patches.mjs');
  const patch = (pkg: string) =>
    [
      `diff --git a/node_modules/${pkg}/index.js b/node_modules/${pkg}/index.js`,
      'index 1111111..2222222 100644',
      `--- a/node_modules/${pkg}/index.js`,
      `+++ b/node_modules/${pkg}/index.js`,
      '@@ -1 +1 @@',
      '-module.exports = 1;',
      '+module.exports = 2;',
      '',
    ].join('\n');

  /** An app with node_modules/installed-pkg and patches for it and for a package the image does not install. */
  function app(): { path: string; remove(): void } {
    const dir = tempDir('ibrest-patches-');
    writeFileSync(join(dir.path, 'package.json'), '{"name":"app","version":"1.0.0"}');
    mkdirSync(join(dir.path, 'node_modules', 'installed-pkg'), { recursive: true });
    const pkg = join(dir.path, 'node_modules', 'installed-pkg');
    writeFileSync(join(pkg, 'package.json'), '{"name":"installed-pkg","version":"1.0.0"}');
    writeFileSync(join(pkg, 'index.js'), 'module.exports = 1;\n');
    mkdirSync(join(dir.path, 'patches'));
    writeFileSync(join(dir.path, 'patches', 'installed-pkg+1.0.0.patch'), patch('installed-pkg'));
    writeFileSync(join(dir.path, 'patches', 'absent-pkg+2.0.0.patch'), patch('absent-pkg'));
    return dir;
  }

  it('applies the patches of installed packages, leaving out the others (patch-package alone refuses)', async () => {
    const dir = app();
    try {
      const direct = [join(PATCH_PACKAGE, 'index.js'), '--error-on-fail'];
      const alone = await run(process.execPath, direct, { cwd: dir.path });
      assert.notEqual(alone.code, 0, 'patch-package accepted a patch for a package that is not installed');
      writeFileSync(join(dir.path, 'node_modules', 'installed-pkg', 'index.js'), 'module.exports = 1;\n');
      const res = await run(process.execPath, [SCRIPT, PATCH_PACKAGE], { cwd: dir.path });
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const patched = readFileSync(join(dir.path, 'node_modules', 'installed-pkg', 'index.js'), 'utf8');
      assert.equal(patched, 'module.exports = 2;\n');
      assert.match(res.stdout, /absent-pkg is not installed here; absent-pkg\+2\.0\.0\.patch left out/);
    } finally {
      dir.remove();
    }
  });

  it('does nothing without a patches directory, and fails when a patch does not apply', async () => {
    const dir = app();
    try {
      writeFileSync(join(dir.path, 'node_modules', 'installed-pkg', 'index.js'), 'module.exports = 3;\n');
      const broken = await run(process.execPath, [SCRIPT, PATCH_PACKAGE], { cwd: dir.path });
      assert.notEqual(broken.code, 0, 'a patch that does not apply passed');
      const empty = tempDir('ibrest-patches-');
      try {
        const nowhere = join(empty.path, 'no-such-patch-package');
        const none = await run(process.execPath, [SCRIPT, nowhere], { cwd: empty.path });
        assert.equal(none.code, 0, none.stderr);
      } finally {
        empty.remove();
      }
    } finally {
      dir.remove();
    }
  });
});

describe('deploy/make-secrets.sh', () => {
  it('creates a matching certificate pair, hashed API keys the proxy accepts; keeps files on a rerun', async (t) => {
    if (which('openssl') === undefined) return t.skip('openssl is not installed');
    const { parseApiKeys, hashApiKey } = await import('@ibrest/proxy');
    const dir = tempDir('ibrest-secrets-');
    try {
      const out = join(dir.path, 'secrets');
      const first = await run('sh', [fromRoot('deploy', 'make-secrets.sh')], {
        env: { ...process.env, SECRETS_DIR: out, TLS_SAN: 'DNS:api.example.com' },
      });
      assert.equal(first.code, 0, first.stderr);

      const cert = new X509Certificate(readFileSync(join(out, 'tls-cert.pem')));
      assert.ok(
        cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'tls-key.pem')))),
        'key does not match certificate',
      );
      for (const san of ['DNS:localhost', 'DNS:proxy', 'IP Address:127.0.0.1', 'DNS:api.example.com']) {
        assert.ok(cert.subjectAltName?.includes(san), `SAN ${san} missing: ${cert.subjectAltName}`);
      }

      const keys = parseApiKeys(readFileSync(join(out, 'api-keys'), 'utf8'));
      const trader = /\n\s+(ibr_[0-9a-f]{48})\n/.exec(first.stdout)?.[1];
      assert.ok(trader, `no key printed: ${first.stdout}`);
      const byName = new Map(keys.map((k) => [k.name, k]));
      assert.equal(byName.get('trader')?.hash, hashApiKey(trader));
      assert.deepEqual([...byName.get('trader')!.scopes].sort(), ['read', 'trade']);
      const metricsKey = readFileSync(join(out, 'metrics-key'), 'utf8');
      assert.equal(byName.get('prometheus')?.hash, hashApiKey(metricsKey));
      assert.deepEqual([...byName.get('prometheus')!.scopes], ['read']);
      assert.ok(!readFileSync(join(out, 'api-keys'), 'utf8').includes(trader), 'the clear key is stored');
      // The proxy↔worker token: random, readable by the containers' non-root user, not a key the API accepts.
      const token = readFileSync(join(out, 'internal-token'), 'utf8');
      assert.match(token, /^[0-9a-f]{64}$/);
      assert.equal(statSync(join(out, 'internal-token')).mode & 0o777, 0o644);
      assert.ok(!keys.some((k) => k.hash === hashApiKey(token)), 'the internal token is also an API key');

      assert.equal(statSync(out).mode & 0o777, 0o700);
      assert.equal(statSync(join(out, 'api-keys')).mode & 0o777, 0o644);

      const before = readFileSync(join(out, 'api-keys'), 'utf8') + readFileSync(join(out, 'tls-cert.pem'), 'utf8');
      const second = await run('sh', [fromRoot('deploy', 'make-secrets.sh')], {
        env: { ...process.env, SECRETS_DIR: out },
      });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, '');
      assert.equal(
        readFileSync(join(out, 'api-keys'), 'utf8') + readFileSync(join(out, 'tls-cert.pem'), 'utf8'),
        before,
      );
    } finally {
      dir.remove();
    }
  });
});
