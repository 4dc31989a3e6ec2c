import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderRouteTable, replaceTable } from './docs.js';

/** Documents that carry the generated route table (paths from the repository root). */
export const DOCUMENTS_WITH_TABLE = ['docs/architecture.md', 'packages/proxy/README.md'];

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const doc of DOCUMENTS_WITH_TABLE) {
    const file = repoRoot + doc;
    writeFileSync(file, replaceTable(readFileSync(file, 'utf8'), renderRouteTable()));
    process.stdout.write(`${doc}: route table written\n`);
  }
}
