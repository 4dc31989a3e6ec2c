import { lookup } from 'node:dns/promises';

/**
 * `IB_HOST` may list candidates (`gateway-sim,host.docker.internal`): each connection attempt uses the first
 * one whose name resolves. That lets one compose file reach the simulated gateway when its profile is up and
 * TWS on the host otherwise. Names are re-resolved on every attempt; when none resolves, the last one is
 * used so the connect error names a real target.
 */
export function parseHostCandidates(value: string): string[] {
  return value
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

export async function firstResolvable(hosts: readonly string[]): Promise<string> {
  for (const host of hosts) {
    try {
      await lookup(host);
      return host;
    } catch {
      // not resolvable now: try the next candidate
    }
  }
  return hosts[hosts.length - 1]!;
}
