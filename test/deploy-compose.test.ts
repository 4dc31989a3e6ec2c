import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  composeVariables,
  dependsOn,
  interpolate,
  loadCompose,
  parseEnvFile,
  parsePort,
  secretNames,
  type Service,
} from './helpers/deploy-compose.js';
import { fromRoot, repoRoot, run, tempDir, which } from './helpers/deploy-tools.js';

const DEFAULT_SERVICES = ['proxy', ...Array.from({ length: 8 }, (_, i) => `worker${i}`)];
const RESTART_VALUES = new Set(['no', 'always', 'on-failure', 'unless-stopped']);
const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

/** The file as compose sees it with an empty environment (every `${VAR:-default}` at its default). */
const compose = interpolate(loadCompose(), {});
const services = compose.services;
const env = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
const isDefault = (s: Service): boolean => (s.profiles ?? []).length === 0;

describe('docker-compose.yml structure', () => {
  it('starts exactly proxy and worker0…worker7 without a profile', () => {
    const defaults = Object.entries(services)
      .filter(([, s]) => isDefault(s))
      .map(([name]) => name);
    assert.deepEqual(defaults.sort(), [...DEFAULT_SERVICES].sort());
  });

  it('gives the workers IB clientIds 0–7, one each, on port 5000 + clientId', () => {
    const ids = DEFAULT_SERVICES.filter((n) => n !== 'proxy').map((name) => {
      const e = env(services[name]!);
      const id = Number(e.IB_CLIENT_ID);
      assert.equal(name, `worker${id}`, `${name} has IB_CLIENT_ID ${e.IB_CLIENT_ID}`);
      assert.equal(Number(e.PORT), 5000 + id, `${name} PORT`);
      assert.equal(e.HOST, '0.0.0.0', `${name} must listen beyond loopback to be reachable by the proxy`);
      return id;
    });
    assert.deepEqual(ids.sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives workers 1–7 distinct spare clientIds from 8–31 and worker 0 none', () => {
    const spares = new Map<string, string>();
    assert.equal(env(services.worker0!).IB_SPARE_CLIENT_IDS, undefined, 'clientId 0 cannot be replaced');
    for (let i = 1; i < 8; i++) {
      for (const id of (env(services[`worker${i}`]!).IB_SPARE_CLIENT_IDS ?? '').split(',').filter(Boolean)) {
        assert.ok(Number(id) >= 8 && Number(id) <= 31, `worker${i} spare ${id}`);
        assert.ok(!spares.has(id), `spare ${id} given to ${spares.get(id)} and worker${i}`);
        spares.set(id, `worker${i}`);
      }
    }
  });

  it('mounts the order policy into every worker from a file that exists and parses', () => {
    const configs = (compose as { configs?: Record<string, { file: string }> }).configs ?? {};
    for (let i = 0; i < 8; i++) {
      const s = services[`worker${i}`] as Service & { configs?: Array<{ source: string; target: string }> };
      const mount = (s.configs ?? []).find((c) => c.target === env(s).ORDER_POLICY_FILE);
      assert.ok(mount, `worker${i}: ORDER_POLICY_FILE ${env(s).ORDER_POLICY_FILE} is not mounted`);
      assert.ok(configs[mount.source], `undefined config ${mount.source}`);
      JSON.parse(readFileSync(join(repoRoot, configs[mount.source]!.file), 'utf8'));
    }
  });

  it('points workers at the simulator if its profile is up, else the host gateway; IB_HOST/IB_PORT override it', () => {
    // The workers try each candidate in order and use the first name that resolves (the sim service's
    // name resolves only while the sim profile is up).
    const simService = services['gateway-sim']!;
    assert.deepEqual(simService.profiles, ['sim']);
    for (let i = 0; i < 8; i++) {
      const s = services[`worker${i}`]!;
      assert.equal(env(s).IB_HOST, 'gateway-sim,host.docker.internal');
      assert.equal(env(s).IB_PORT, '4002');
      const hosts = Array.isArray(s.extra_hosts)
        ? s.extra_hosts
        : Object.entries(s.extra_hosts ?? {}).map(([k, v]) => `${k}:${v}`);
      assert.ok(hosts.includes('host.docker.internal:host-gateway'), `worker${i} extra_hosts ${JSON.stringify(hosts)}`);
    }
    const sim = interpolate(loadCompose(), { IB_HOST: 'gateway-sim', IB_PORT: '4002' });
    for (let i = 0; i < 8; i++) assert.equal(env(sim.services[`worker${i}`]!).IB_HOST, 'gateway-sim');
  });

  it('routes the proxy to every worker by clientId, worker 0 included', () => {
    const workers = env(services.proxy!)
      .WORKERS!.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    assert.equal(workers.length, 8);
    for (const entry of workers) {
      const m = /^(\d+)=http:\/\/([a-z0-9-]+):(\d+)$/.exec(entry);
      assert.ok(m, `WORKERS entry ${entry}`);
      const target = services[m[2]!];
      assert.ok(target, `WORKERS names undefined service ${m[2]}`);
      assert.equal(env(target).IB_CLIENT_ID, m[1], `${entry}: clientId differs from the service's IB_CLIENT_ID`);
      assert.equal(env(target).PORT, m[3], `${entry}: port differs from the service's PORT`);
    }
  });

  it('has a health check on every service and valid restart policies', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.healthcheck?.test, `${name} has no healthcheck`);
      assert.notEqual(s.healthcheck.disable, true, `${name} disables its healthcheck`);
      assert.ok(Number.isInteger(s.healthcheck.retries ?? 3), `${name} healthcheck retries`);
      assert.ok(s.restart === undefined || RESTART_VALUES.has(s.restart), `${name} restart: ${s.restart}`);
    }
    for (const name of DEFAULT_SERVICES) assert.equal(services[name]!.restart, 'unless-stopped', name);
  });

  it('runs the nine with an init process (signals reach node)', () => {
    for (const name of DEFAULT_SERVICES) assert.equal(services[name]!.init, true, name);
  });

  it('defines every depends_on target, with valid conditions; no worker can keep the proxy from starting', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, opts] of Object.entries(dependsOn(s))) {
        assert.ok(services[dep], `${name} depends on undefined service ${dep}`);
        assert.ok(
          opts.condition === undefined || CONDITIONS.has(opts.condition),
          `${name} → ${dep}: ${opts.condition}`,
        );
        if (isDefault(s))
          assert.ok(isDefault(services[dep]!), `${name} depends on ${dep}, which only runs in a profile`);
      }
    }
    // Compose never starts a service whose healthy-condition dependency turned unhealthy; the proxy routes
    // around unready workers itself, so waiting for one slow worker would only keep the entry point down.
    const proxyDeps = dependsOn(services.proxy!);
    for (let i = 0; i < 8; i++) {
      assert.equal(proxyDeps[`worker${i}`]?.condition, 'service_started', `proxy → worker${i}`);
    }
  });

  it('builds the worker image once: worker0 builds it, workers 1–7 use the same image without a build', () => {
    const image = services.worker0!.image;
    assert.ok(image, 'worker0 has no image name');
    assert.ok(services.worker0!.build, 'worker0 has no build');
    // Compose pulls every service without a build before building anything: workers 1–7 must not try to pull
    // the image worker0 is about to build (or pull).
    assert.notEqual(services.worker0!.pull_policy, 'never', 'worker0 could not pull a registry image');
    for (let i = 1; i < 8; i++) {
      assert.equal(services[`worker${i}`]!.image, image, `worker${i} uses another image`);
      assert.equal(services[`worker${i}`]!.build, undefined, `worker${i} would build the same image again`);
      assert.equal(services[`worker${i}`]!.pull_policy, 'never', `worker${i} would pull the image worker0 builds`);
    }
    const built = Object.entries(services)
      .filter(([, s]) => s.build !== undefined)
      .map(([name]) => name);
    assert.deepEqual(built.sort(), ['gateway-sim', 'proxy', 'worker0']);
  });

  it('gives health checks the time a cold start of everything needs on two cores', () => {
    // A probe is a Node process too; ten of them starting together take seconds each on a small host.
    const seconds = (d: string | undefined) => {
      const m = /^(\d+)(s|m)$/.exec(d ?? '');
      assert.ok(m, `duration ${d}`);
      return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
    };
    for (const name of [...DEFAULT_SERVICES, 'gateway-sim']) {
      const hc = services[name]!.healthcheck!;
      assert.ok(seconds(hc.timeout) >= 10, `${name} timeout ${hc.timeout}`);
      assert.ok(seconds(hc.start_period) >= 60, `${name} start_period ${hc.start_period}`);
      assert.ok(seconds(hc.interval) >= seconds(hc.timeout), `${name} interval shorter than its timeout`);
    }
  });

  it('hardens every service alike: read-only root, tmpfs /tmp, no capabilities, no privilege gain', () => {
    // ib-gateway is the documented exception (IBC writes its settings; Xvfb, VNC and socat run inside).
    for (const [name, s] of Object.entries(services)) {
      if (name === 'ib-gateway') continue;
      assert.equal(s.read_only, true, `${name} read_only`);
      const tmpfs = typeof s.tmpfs === 'string' ? [s.tmpfs] : (s.tmpfs ?? []);
      assert.ok(tmpfs.includes('/tmp'), `${name} has no tmpfs on /tmp`);
      assert.deepEqual(s.cap_drop, ['ALL'], `${name} cap_drop`);
      assert.ok((s.security_opt ?? []).includes('no-new-privileges:true'), `${name} security_opt`);
    }
  });

  it('gives the proxy and every worker the internal token as a file from one secret', () => {
    for (const name of DEFAULT_SERVICES) {
      assert.equal(env(services[name]!).IBREST_INTERNAL_TOKEN_FILE, '/run/secrets/internal_token', name);
      assert.ok(secretNames(services[name]!).includes('internal_token'), `${name} does not mount internal_token`);
      assert.equal(env(services[name]!).IBREST_INTERNAL_TOKEN, undefined, `${name}: the token must come from a file`);
    }
    assert.equal(compose.secrets?.internal_token?.file, './secrets/internal-token');
  });

  it('defines every secret a service uses, as a file, and the *_FILE variables point at mounted secrets', () => {
    const defined = compose.secrets ?? {};
    for (const [name, s] of Object.entries(services)) {
      const mounted = secretNames(s);
      for (const secret of mounted) {
        assert.ok(defined[secret], `${name} uses undefined secret ${secret}`);
        assert.ok(defined[secret]!.file, `secret ${secret} has no file`);
      }
      for (const [key, value] of Object.entries(env(s))) {
        if (!key.endsWith('_FILE')) continue;
        const configTargets = ((s as { configs?: Array<{ target?: string }> }).configs ?? []).map((c) => c.target);
        if (configTargets.includes(value)) continue;
        const m = /^\/run\/secrets\/(.+)$/.exec(value);
        assert.ok(m, `${name} ${key}=${value} is neither a compose secret nor a mounted config`);
        assert.ok(mounted.includes(m[1]!), `${name} ${key} names secret ${m[1]}, which the service does not mount`);
      }
    }
    const proxyEnv = env(services.proxy!);
    assert.equal(proxyEnv.TLS_CERT_FILE, '/run/secrets/tls_cert');
    assert.equal(proxyEnv.TLS_KEY_FILE, '/run/secrets/tls_key');
    assert.equal(proxyEnv.API_KEYS_FILE, '/run/secrets/api_keys');
    for (const key of Object.keys(proxyEnv)) {
      assert.ok(!/^(TLS_CERT|TLS_KEY|API_KEYS)$/.test(key), `${key} must come from a file, not the environment`);
    }
  });

  it('publishes only the proxy among the nine, on 127.0.0.1 unless PROXY_BIND says otherwise', () => {
    for (const name of DEFAULT_SERVICES.filter((n) => n !== 'proxy')) {
      assert.equal(services[name]!.ports, undefined, `${name} publishes a port`);
    }
    const ports = (services.proxy!.ports ?? []).map(parsePort);
    assert.deepEqual(ports, [{ hostIp: '127.0.0.1', published: '8080', target: '8080' }]);
    // Everything published in any profile stays on loopback by default.
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []).map(parsePort))
        assert.equal(p.hostIp, '127.0.0.1', `${name} publishes on "${p.hostIp}"`);
    }
    const exposed = interpolate(loadCompose(), { PROXY_BIND: '0.0.0.0', PROXY_PORT: '443' });
    assert.deepEqual((exposed.services.proxy!.ports ?? []).map(parsePort), [
      { hostIp: '0.0.0.0', published: '443', target: '8080' },
    ]);
  });

  it('has the sim, gateway and monitoring profiles', () => {
    const byProfile = new Map<string, string[]>();
    for (const [name, s] of Object.entries(services))
      for (const p of s.profiles ?? []) byProfile.set(p, [...(byProfile.get(p) ?? []), name]);
    assert.deepEqual(byProfile.get('sim'), ['gateway-sim']);
    assert.deepEqual(byProfile.get('gateway'), ['ib-gateway']);
    assert.deepEqual(byProfile.get('monitoring')?.sort(), ['grafana', 'prometheus']);
  });

  it('keeps the IB Gateway API unpublished, pins its image and passes its password as a file', () => {
    const gw = services['ib-gateway']!;
    assert.equal(gw.ports, undefined);
    assert.match(gw.image ?? '', /^ghcr\.io\/gnzsnz\/ib-gateway:\d+\.\d+\.\w+$/);
    assert.equal(env(gw).TWS_PASSWORD_FILE, '/run/secrets/tws_password');
    assert.equal(env(gw).TWS_PASSWORD, undefined);
    assert.equal(env(gw).READ_ONLY_API, 'no');
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) assert.match(s.image ?? '', /:[\w][\w.-]*$/, `${name} image has no tag`);
      assert.doesNotMatch(s.image ?? '', /:(latest|stable)$/, `${name} uses a moving tag`);
    }
  });

  it('builds from Dockerfiles and targets that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) continue;
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      const dockerfile = join(repoRoot, build.context, build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(dockerfile), `${name}: ${dockerfile} missing`);
      if (build.target) {
        const stages = [...readFileSync(dockerfile, 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
        assert.ok(stages.includes(build.target), `${name}: no stage ${build.target} in ${build.dockerfile}`);
      }
    }
  });

  it('mounts configuration that exists and declares every named volume; worker 0 keeps its data', () => {
    const named = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
        if (source.startsWith('.') || source.startsWith('/')) {
          assert.ok(existsSync(join(repoRoot, source)), `${name} mounts missing ${source}`);
        } else {
          assert.ok(named.has(source), `${name} uses undeclared volume ${source}`);
        }
      }
    }
    const w0 = (services.worker0!.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    assert.ok(
      w0.some((v) => v.endsWith(`:${env(services.worker0!).DATA_DIR}`)),
      `worker0 DATA_DIR is not a volume: ${w0}`,
    );
    assert.ok((services.proxy!.volumes ?? []).length > 0, 'proxy DATA_DIR is not a volume');
    const sim = services['gateway-sim']!;
    const simVolumes = (sim.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    const stateDir = env(sim).GATEWAY_SIM_STATE_DIR;
    assert.ok(
      simVolumes.some((v) => v.endsWith(`:${stateDir}`)),
      `simulator state is not a volume: ${simVolumes}`,
    );
  });

  it('documents every variable in .env.example, and nothing it does not use', () => {
    const used = composeVariables();
    const documented = parseEnvFile(readFileSync(fromRoot('.env.example'), 'utf8'));
    const commentedOut = new Set(
      [...readFileSync(fromRoot('.env.example'), 'utf8').matchAll(/^#\s*([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!),
    );
    for (const v of used)
      assert.ok(documented.has(v) || commentedOut.has(v), `${v} is used in docker-compose.yml but not in .env.example`);
    for (const v of documented.keys())
      assert.ok(used.has(v), `.env.example sets ${v}, which docker-compose.yml does not use`);
    // The documented values are the defaults: copying the file changes nothing.
    const withExample = interpolate(loadCompose(), Object.fromEntries(documented));
    assert.deepEqual(withExample, compose);
  });
});

describe('docker-compose.yml validators', () => {
  it('passes docker compose config -q (Compose v2, the version the file needs)', async (t) => {
    const docker = which('docker');
    const v2 = docker === undefined ? undefined : await run(docker, ['compose', 'version', '--short']);
    if (docker === undefined || v2?.code !== 0) return t.skip('Compose v2 is not installed (docker compose)');
    const args = ['compose', '--project-directory', repoRoot, '-f', fromRoot('docker-compose.yml')];
    const profiles = ['--profile', 'sim', '--profile', 'gateway', '--profile', 'monitoring'];
    // Compose checks that secret files exist: give it an environment whose secrets are in a temp dir.
    const dir = tempDir('ibrest-compose-');
    try {
      const env: Record<string, string> = { ...(process.env as Record<string, string>) };
      for (const v of composeVariables()) {
        if (!v.endsWith('_PATH') || v === 'ORDER_POLICY_PATH') continue;
        const file = join(dir.path, v);
        writeFileSync(file, 'x');
        env[v] = file;
      }
      const plain = await run(docker, [...args, 'config', '-q'], { env });
      assert.equal(plain.code, 0, plain.stderr);
      const example = ['--env-file', fromRoot('.env.example')];
      const all = await run(docker, [...args, ...example, ...profiles, 'config', '--services'], { env });
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(all.stdout.trim().split('\n').sort(), Object.keys(services).sort());
    } finally {
      dir.remove();
    }
  });

  it('passes dclint with the project rules', async () => {
    const dclint = which('dclint');
    assert.ok(dclint, 'node_modules/.bin/dclint missing (npm ci)');
    const res = await run(dclint, [
      '-c',
      fromRoot('.dclintrc.yml'),
      '--max-warnings',
      '0',
      '--color',
      'false',
      'docker-compose.yml',
    ]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
  });

  it('passes yamllint', async (t) => {
    const yamllint = which('yamllint');
    if (yamllint === undefined) return t.skip('yamllint is not installed (apt-get install yamllint)');
    const res = await run(yamllint, [
      '-c',
      fromRoot('.yamllint'),
      '--strict',
      'docker-compose.yml',
      '.dclintrc.yml',
      'deploy',
    ]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
  });
});
