import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of a workspace package's built CLI (`dist/src/main.js`), resolved through node_modules. */
export function mainScript(pkg: '@ibrest/gateway-sim' | '@ibrest/worker' | '@ibrest/proxy'): string {
  return join(dirname(fileURLToPath(import.meta.resolve(pkg))), 'main.js');
}
