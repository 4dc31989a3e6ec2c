import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isLoopback, type Logger } from '@ibrest/common';
import type { ProxyConfig } from './config.js';
import { InsecureListenError } from './errors.js';
import { loadOrCreateSelfSigned, fingerprintOf, type TlsMaterial } from './security/tls.js';

export interface Entrypoint {
  server: http.Server;
  protocol: 'http' | 'https';
  tls?: TlsMaterial;
}

/**
 * Decides HTTP or HTTPS and refuses unsafe exposure, before anything listens:
 * - operator certificate → HTTPS;
 * - loopback without one → HTTP (nothing leaves the machine);
 * - beyond loopback without one → a self-signed certificate (created once in DATA_DIR, then reused),
 *   unless TLS_SELF_SIGNED=false;
 * - beyond loopback without TLS or without API keys → refused, unless started with --insecure.
 */
export async function prepareTls(config: ProxyConfig, log: Logger): Promise<TlsMaterial | undefined> {
  const loopback = isLoopback(config.host);
  if (config.tls.cert !== undefined && config.tls.key !== undefined) {
    return {
      cert: config.tls.cert,
      key: config.tls.key,
      fingerprint256: fingerprintOf(config.tls.cert),
      source: 'configured',
    };
  }
  if (loopback) return undefined;
  const problems: string[] = [];
  if (config.apiKeys.length === 0) problems.push('no API keys (API_KEYS)');
  if (!config.tls.selfSigned) problems.push('no TLS certificate (TLS_CERT/TLS_KEY) and TLS_SELF_SIGNED=false');
  if (problems.length > 0 && !config.insecure) {
    throw new InsecureListenError(
      `Refusing to listen on ${config.host} (beyond loopback) with ${problems.join(' and ')}; ` +
        'configure them, listen on 127.0.0.1, or start with --insecure (IBREST_INSECURE=true)',
    );
  }
  if (problems.length > 0)
    log.warn({ host: config.host, problems }, 'listening beyond loopback insecurely (--insecure)');
  if (!config.tls.selfSigned) return undefined;
  const tls = await loadOrCreateSelfSigned(config.dataDir, config.host);
  log.info(
    { fingerprint256: tls.fingerprint256, source: tls.source, dataDir: config.dataDir },
    tls.source === 'generated'
      ? 'generated a self-signed TLS certificate'
      : 'using the self-signed TLS certificate from an earlier start',
  );
  return tls;
}

export function createEntrypoint(
  config: ProxyConfig,
  tls: TlsMaterial | undefined,
  handler: http.RequestListener,
): Entrypoint {
  const options: http.ServerOptions = {
    requestTimeout: config.client.requestTimeoutMs,
    headersTimeout: Math.min(config.client.requestTimeoutMs, 20_000),
    keepAliveTimeout: config.client.keepAliveTimeoutMs,
    noDelay: true,
  };
  const server =
    tls === undefined
      ? http.createServer(options, handler)
      : https.createServer({ ...options, cert: tls.cert, key: tls.key }, handler);
  // Streams (SSE) may stay open for hours: no socket inactivity timeout on the client side.
  server.timeout = 0;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET')
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return { server, protocol: tls === undefined ? 'http' : 'https', ...(tls === undefined ? {} : { tls }) };
}

export function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
