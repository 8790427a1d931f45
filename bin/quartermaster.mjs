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

let main;
if (process.env.QM_FROM_SOURCE !== '1' && bundleIsCurrent()) {
  ({ main } = await import('../dist/app/cli.mjs'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
