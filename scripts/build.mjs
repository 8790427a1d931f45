#!/usr/bin/env node
// Bundles the TypeScript sources (src/, commands/, the generated Prisma clients) into dist/app/ with esbuild, at
// install time (the postinstall, after the Prisma clients are generated). bin/quartermaster.mjs runs the bundle
// when it is at least as new as every source it was built from, and otherwise the sources through tsx; so an
// edited checkout behaves exactly like a built one, only slower to start.
//
// Why: through tsx every module resolution and every file passes through loader hooks running in a second
// thread, which costs about a second and ~30 MB at every start. The bundle loads like plain JavaScript.
// Dependencies stay in node_modules (not bundled; see bundle-options.mjs). Chunks are written flat into dist/app/,
// two levels below the package root like src/<dir>/<file>.ts, so the sources' `import.meta.url`-relative paths
// hold in the bundle too.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'app');

if (!existsSync(path.join(root, 'src', 'cli', 'main.ts'))) {
  // A Docker build installs dependencies before it copies the sources; it runs this again afterwards.
  console.log('[build.mjs] no sources yet (src/cli/main.ts): nothing to bundle');
  process.exit(0);
}
const started = Date.now();
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build(bundleOptions({ root, outdir, entryPoints: { cli: 'src/cli/main.ts' } }));
// What the bundle was built from, so the bin can tell when an edit made it stale.
const inputs = Object.keys(result.metafile.inputs).map((p) => path.relative(root, path.resolve(root, p)));
// Size and modification time of each, compared for equality (not "not newer"): an upgrade that restores archived
// times (tar -x, rsync -a, cp -p) must make the bundle stale as surely as an edit does.
const stamp = Object.fromEntries(
  inputs.map((p) => {
    const st = statSync(path.join(root, p));
    return [p, [st.size, st.mtimeMs]];
  }),
);
writeFileSync(path.join(outdir, 'inputs.json'), `${JSON.stringify(stamp)}\n`);
console.log(`[build.mjs] bundled ${inputs.length} sources into dist/app in ${Date.now() - started} ms`);
