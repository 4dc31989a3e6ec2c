import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { firstResolvable, parseHostCandidates } from '../src/ib/host-candidates.js';
import { eventually, http, startStack, type Stack } from './helpers.js';

describe('IB_HOST candidates – the first name that resolves wins', () => {
  it('firstResolvable – skips names that do not resolve; falls back to the last', async () => {
    assert.equal(await firstResolvable(['no-such-host.invalid', '127.0.0.1']), '127.0.0.1');
    assert.equal(await firstResolvable(['localhost', '127.0.0.1']), 'localhost');
    assert.equal(await firstResolvable(['a.invalid', 'b.invalid']), 'b.invalid');
    assert.deepEqual(parseHostCandidates(' gateway-sim , host.docker.internal '), [
      'gateway-sim',
      'host.docker.internal',
    ]);
  });

  it('config – rejects empty or blank candidates with "expected X, got Y"', () => {
    assert.throws(
      () => loadConfig({ IB_HOST: 'a,,b' }),
      /Expected IB_HOST to be a host name or a comma-separated list of them, got "a,,b"/,
    );
    assert.throws(() => loadConfig({ IB_HOST: 'a b' }), /Expected IB_HOST/);
  });

  describe('a worker given an unresolvable name first', () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ IB_HOST: 'gateway-sim.invalid,127.0.0.1' });
    });
    after(() => s.close());

    it('connects to the candidate that resolves and serves', async () => {
      await eventually(async () => (await http(`${s.url}/health/ready`)).status === 200, 10_000, 'ready');
      assert.equal((await http(`${s.url}/account/positions`)).status, 200);
    });
  });
});
