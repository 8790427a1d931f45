#!/usr/bin/env node
// Runs the bundle `npm install` built (scripts/build.mjs) when every source it was built from is exactly as it was
// (size and modification time); otherwise (an edited or upgraded checkout, or no bundle) the TypeScript sources
// directly through tsx. `npm run build` brings the bundle up to date.
import { readFileSync, statSync } from 'node:fs';

// `npx quartermaster jobs list | head -1`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = new URL('../', import.meta.url);

function bundleIsCurrent() {
  try {
    const stamp = JSON.parse(readFileSync(new URL('dist/app/inputs.json', root), 'utf8'));
    return Object.entries(stamp).every(([p, [size, mtimeMs]]) => {
      const st = statSync(new URL(p, root));
      return st.size === size && st.mtimeMs === mtimeMs;
    });
  } catch {
    return false;
  }
}

// The long-running bot compiles Prisma's query compiler (WebAssembly) with the baseline compiler only: the optimized
// tier V8 adds later keeps a second copy of the code, about 20 MB of resident memory for a few percent of CPU per
// query (npm run bench: idle RSS 168 → 155 MB, after the load 252 → 210 MB, CPU per command unchanged within noise).
// Wasm flags are read when a module is compiled, which happens after this line.
//
// Its young generation also stays at its initial size (two 1 MB semi-spaces) while it starts, instead of growing to
// 2 × 16 MB during the allocation burst of start-up and keeping that committed while idle (--max-semi-space-size
// only works on the command line; the growth factor is read at each growth, so setting it here takes effect): about
// 25 MB of resident memory. Once the bot is up, src/cli/heap.ts lets it grow again for bursts of commands. The
// one-shot `digest` keeps it small throughout: its peak memory is what it costs (npm run bench, spend rows).
const verb = process.argv[2];
if (verb === 'start' || verb === 'digest') {
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--liftoff-only');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

let main;
if (process.env.QM_FROM_SOURCE !== '1' && bundleIsCurrent()) {
  ({ main } = await import('../dist/app/cli.mjs'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
