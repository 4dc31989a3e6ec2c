import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@ibrest/common';
import { loadStackConfig, workerMsgRate } from '../src/config.js';

test('loadStackConfig – no gateway configured means the simulator, on the documented defaults', () => {
  const c = loadStackConfig({});
  assert.equal(c.gateway, undefined);
  assert.equal(c.simPort, 4002);
  assert.equal(c.proxyPort, 8080);
  assert.equal(c.workers, 8);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(workerMsgRate(c), 40);
});

test('loadStackConfig – IB_HOST/IB_PORT select a real gateway', () => {
  assert.deepEqual(loadStackConfig({ IB_HOST: '10.0.0.5' }).gateway, { host: '10.0.0.5', port: 4002 });
  assert.deepEqual(loadStackConfig({ IB_PORT: '7497' }).gateway, { host: '127.0.0.1', port: 7497 });
});

test('loadStackConfig – combined mode splits the budget across workers', () => {
  const c = loadStackConfig({ IB_RATE_MODE: 'combined', IB_MSG_RATE: '48' });
  assert.equal(workerMsgRate(c), 6);
});

for (const [env, message] of [
  [{ WORKERS_COUNT: '9' }, /Expected WORKERS_COUNT to be an integer from 1 to 8, got "9"/],
  [{ IB_PORT: 'abc' }, /Expected IB_PORT to be an integer from 1 to 65535, got "abc"/],
  [{ IB_RATE_MODE: 'shared' }, /Expected IB_RATE_MODE to be one of per-client, combined, got "shared"/],
  [{ IB_RATE_MODE: 'combined', IB_MSG_RATE: '4' }, /at least WORKERS_COUNT/],
  [{ LOG_LEVEL: 'loud' }, /Expected LOG_LEVEL to be one of/],
] as const) {
  test(`loadStackConfig – rejects ${JSON.stringify(env)}`, () => {
    assert.throws(
      () => loadStackConfig(env),
      (err: Error) => err instanceof ConfigError && message.test(err.message),
    );
  });
}
