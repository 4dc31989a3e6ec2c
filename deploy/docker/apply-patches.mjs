#!/usr/bin/env node
// Applies the repository's patches/ (patch-package) to the node_modules an image build installed, leaving out
// the patches of packages that build does not install: patch-package refuses a patch whose package is missing,
// and the proxy image, for one, has no @stoqey/ib. Runs in the current directory (the app root).
//
//   node apply-patches.mjs <path of the patch-package package>
//
// Without a patches/ directory it does nothing. Exits non-zero when a patch does not apply.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const [patchPackage] = process.argv.slice(2);
if (!patchPackage) {
  process.stderr.write('apply-patches: expected the path of the patch-package package\n');
  process.exit(2);
}
if (!existsSync('patches')) process.exit(0);

const { getPackageDetailsFromPatchFilename: details } = createRequire(import.meta.url)(
  join(resolve(patchPackage), 'dist', 'PackageDetails.js'),
);
const dir = '.patches-for-this-image';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
for (const file of readdirSync('patches')) {
  const pkg = details(file);
  if (pkg === null) continue;
  if (existsSync(pkg.path)) cpSync(join('patches', file), join(dir, file));
  else process.stdout.write(`apply-patches: ${pkg.pathSpecifier} is not installed here; ${file} left out\n`);
}
// --error-on-fail: outside CI patch-package reports a patch that does not apply and still exits 0.
const args = [join(resolve(patchPackage), 'index.js'), '--patch-dir', dir, '--error-on-fail'];
const res = spawnSync(process.execPath, args, { stdio: 'inherit' });
rmSync(dir, { recursive: true, force: true });
process.exit(res.status ?? 1);
