import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ibrest/common';
import { loadConfig } from './config.js';
import { buildOpenApi } from './http/openapi.js';
import { startWorker } from './worker.js';

/**
 * The worker's OpenAPI document as every worker with the default settings serves it, without the `info`
 * block (version and clientId differ per process). The proxy publishes the workers' routes from a copy of
 * it kept in @ibrest/contract (`src/worker-openapi.json`, exported as `WORKER_OPENAPI`); a worker test fails
 * when the copy is stale.
 */
export async function workerOpenApiPaths(): Promise<{ paths: unknown; components: unknown }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ibrest-openapi-'));
  // Nothing listens on port 1: the route table is built before the worker connects, and it never will.
  const config = loadConfig({
    DATA_DIR: dataDir,
    IB_PORT: '1',
    PORT: '0',
    IB_MAINTENANCE_WINDOWS: 'none',
    LOG_LEVEL: 'silent',
  });
  const worker = await startWorker(config, { logger: createLogger('openapi', 'silent') });
  try {
    const doc = buildOpenApi(worker.routes, { version: '0', clientId: config.clientId });
    return { paths: doc.paths, components: doc.components };
  } finally {
    await worker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Text of packages/contract/src/worker-openapi.json. */
export function renderWorkerOpenApi(doc: { paths: unknown; components: unknown }): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const WORKER_OPENAPI_FILE = fileURLToPath(new URL('../../../contract/src/worker-openapi.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = await workerOpenApiPaths();
  writeFileSync(WORKER_OPENAPI_FILE, renderWorkerOpenApi(doc));
  process.stdout.write(`${WORKER_OPENAPI_FILE} written\n`);
}
