import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@ibrest/common';

/**
 * CIDR allowlist over IPv4 and IPv6 (node's BlockList does the matching). IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, what a dual-stack listener reports) are checked as the IPv4 address they carry.
 */
export class Allowlist {
  private readonly list = new BlockList();

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, prefixRaw] = entry.split('/');
      const family = isIP(addr ?? '');
      if (family === 0)
        throw new ConfigError(`Expected IP_ALLOWLIST entry to be an IP or CIDR, got ${JSON.stringify(entry)}`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const max = family === 4 ? 32 : 128;
      const prefix = prefixRaw === undefined ? max : Number(prefixRaw);
      if (!/^\d+$/.test(prefixRaw ?? String(max)) || prefix > max) {
        throw new ConfigError(
          `Expected IP_ALLOWLIST prefix for ${addr} to be 0-${max}, got ${JSON.stringify(prefixRaw)}`,
        );
      }
      this.list.addSubnet(addr!, prefix, type);
    }
  }

  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const addr = mapped ? mapped[1]! : address;
    const family = isIP(addr);
    if (family === 0) return false;
    return this.list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  }
}

export function parseAllowlist(raw: string | undefined): Allowlist | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return new Allowlist(raw.split(/[,\s]+/).filter((s) => s !== ''));
}
