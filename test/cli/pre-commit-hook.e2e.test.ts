/** scripts/pre-commit-hook.sh in a real temporary git repository: a staged key blocks the commit, hints only. */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, expect, it } from 'vitest';
import { keyHint } from '../../src/core/leaks/detect.js';
import { ADMIN_KEY as LEAKED_ADMIN_KEY, API_KEY as LEAKED_KEY } from '../support/leak-corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = {
  PATH: process.env.PATH!,
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  QUARTERMASTER: `${process.execPath} ${path.join(root, 'bin', 'quartermaster.mjs')}`,
};
let repo: string;

function run(args: string[], extraEnv: Record<string, string> = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile('git', args, { cwd: repo, env: { ...env, ...extraEnv } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}
const commits = async () => (await run(['rev-list', '--count', '--all'])).out.trim() || '0';

beforeEach(async () => {
  repo = mkdtempSync(path.join(tmpdir(), 'qm-hook-'));
  await run(['init', '-q', '-b', 'main']);
  await run(['config', 'user.email', 'dev@example.com']);
  await run(['config', 'user.name', 'Dev']);
  await run(['config', 'commit.gpgsign', 'false']);
  copyFileSync(path.join(root, 'scripts', 'pre-commit-hook.sh'), path.join(repo, '.git', 'hooks', 'pre-commit'));
  writeFileSync(path.join(repo, 'README.md'), '# app\n');
  await run(['add', 'README.md']);
  expect((await run(['commit', '-q', '-m', 'first'])).code).toBe(0);
});

it('blocks a commit that stages a key, names the file, line and hint, and never prints the secret', async () => {
  mkdirSync(path.join(repo, 'config dir'));
  writeFileSync(path.join(repo, 'config dir', 'prod .env'), `# prod\nANTHROPIC_API_KEY=${LEAKED_KEY}\n`);
  writeFileSync(path.join(repo, 'clean.ts'), 'export const x = 1;\n');
  await run(['add', '-A']);
  const r = await run(['commit', '-m', 'add config']);
  expect(r.code).toBe(1);
  expect(r.err).toContain('commit blocked, a secret is staged');
  expect(r.err).toContain(`config dir/prod .env:2:19  anthropic_api_key  ${keyHint(LEAKED_KEY)}`);
  expect(r.err).not.toContain('qm-pre-commit');
  expect(r.out + r.err).not.toContain(LEAKED_KEY.slice(16, -4));
  expect(await commits()).toBe('1');
  // The file is removed from the commit: it goes through.
  await run(['rm', '-q', '--cached', 'config dir/prod .env']);
  expect((await run(['commit', '-q', '-m', 'add clean'])).code).toBe(0);
  expect(await commits()).toBe('2');
}, 60_000);

it('scans the staged version, not the working tree', async () => {
  const file = path.join(repo, 'settings.json');
  writeFileSync(file, `{"admin": "${LEAKED_ADMIN_KEY}"}\n`);
  await run(['add', 'settings.json']);
  writeFileSync(file, '{"admin": null}\n'); // cleaned on disk, but not staged
  const blocked = await run(['commit', '-m', 'settings']);
  expect(blocked.code).toBe(1);
  expect(blocked.err).toContain(`settings.json:1:12  anthropic_admin_key  ${keyHint(LEAKED_ADMIN_KEY)}`);
  await run(['add', 'settings.json']); // the clean version staged
  writeFileSync(file, `{"admin": "${LEAKED_ADMIN_KEY}"}\n`); // a key on disk only
  expect((await run(['commit', '-q', '-m', 'settings'])).code).toBe(0);
  expect(await commits()).toBe('2');
}, 60_000);

it('lets clean commits, deletions, links and near misses through', async () => {
  writeFileSync(
    path.join(repo, 'doc.md'),
    'Keys look like sk-ant-api03-R2D...igAA; set ANTHROPIC_API_KEY=sk-ant-api03-<your key>.\n',
  );
  symlinkSync('doc.md', path.join(repo, 'link.md'));
  await run(['rm', '-q', 'README.md']);
  await run(['add', '-A']);
  const r = await run(['commit', '-m', 'docs']);
  expect(r.err).not.toContain('blocked');
  expect(r.code).toBe(0);
  expect(await commits()).toBe('2');
}, 60_000);

it('blocks the commit when the scanner fails, saying so', async () => {
  writeFileSync(path.join(repo, 'a.txt'), 'a\n');
  await run(['add', 'a.txt']);
  const r = await run(['commit', '-m', 'a'], { QUARTERMASTER: `${process.execPath} -e process.exit(2)` });
  expect(r.code).toBe(1);
  expect(r.err).toContain('could not be scanned (exit 2)');
  expect(await commits()).toBe('1');
}, 60_000);
