#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (a runtime dependency), so there is no build step.
import { register } from 'tsx/esm/api';

// `npx quartermaster jobs list | head -1`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
