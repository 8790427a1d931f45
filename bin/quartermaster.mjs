#!/usr/bin/env node
// Runs the bundle `npm install` built (scripts/build.mjs) when it is at least as new as every source it was
// built from; otherwise (an edited checkout, or no bundle) the TypeScript sources directly through tsx.
import { readFileSync, statSync } from 'node:fs';

// `npx quartermaster jobs list | head -1`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = new URL('../', import.meta.url);

function bundleIsCurrent() {
  try {
    const { newest, inputs } = JSON.parse(readFileSync(new URL('dist/app/inputs.json', root), 'utf8'));
    return inputs.every((p) => statSync(new URL(p, root)).mtimeMs <= newest);
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
