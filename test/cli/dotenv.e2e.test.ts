/**
 * `.env` in the working directory is read with Node's own loader before the configuration is parsed; a variable
 * already set in the environment wins over the file. Run as the operator does, in a directory of their own.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli, STACK_LINE } from '../support/cli.js';

let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'qm-dotenv-'));
  writeFileSync(
    path.join(cwd, '.env'),
    ['# the operator keeps settings here', 'DATABASE_URL=file:./from-dotenv/qm.db', 'LOG_LEVEL=warn', ''].join('\n'),
  );
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

it('settings come from .env when the environment does not set them', async () => {
  const r = await runCli(['migrate'], { cwd, timeoutMs: 90_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(existsSync(path.join(cwd, 'from-dotenv', 'qm.db'))).toBe(true);
}, 120_000);

it('a variable set in the environment wins over .env', async () => {
  const r = await runCli(['migrate'], { cwd, env: { DATABASE_URL: 'file:./from-env/qm.db' }, timeoutMs: 90_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(existsSync(path.join(cwd, 'from-env', 'qm.db'))).toBe(true);
}, 120_000);

it('a .env that cannot be read is one sentence naming the file, exit 78', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qm-dotenv-bad-'));
  try {
    mkdirSync(path.join(dir, '.env'));
    const r = await runCli(['migrate'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`cannot read ${path.join(dir, '.env')}`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
