/** `npx quartermaster scan [files…]`: JSON findings with hints only, matched to keys; exit 1 when found. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { keyHint } from '../../src/core/leaks/detect.js';
import { ADMIN_KEY } from '../support/app.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECRET = `sk-ant-api03-${'L3akedKey_-'.repeat(9).slice(0, 93)}AA`;
let sim: Simulator;
let dir: string;

function scan(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      'node',
      ['bin/quartermaster.mjs', 'scan', ...args],
      { cwd: root, env: { PATH: process.env.PATH!, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  const prod = sim.state.workspaces.find((w) => w.name === 'prod')!;
  sim.state.addApiKey({ name: 'leaky-key', workspaceId: prod.id, partialKeyHint: keyHint(SECRET) });
  dir = mkdtempSync(path.join(tmpdir(), 'qm-scan-'));
  writeFileSync(path.join(dir, 'clean.txt'), 'nothing to see\n');
  writeFileSync(path.join(dir, 'leak.env'), `# config\nANTHROPIC_API_KEY=${SECRET}\n`);
});
afterAll(async () => {
  await sim?.close();
});

it('exits 0 with no findings for clean files', async () => {
  const r = await scan([path.join(dir, 'clean.txt')]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out).findings).toEqual([]);
}, 30_000);

it('exits 1, reports the hint and position, matches the key through the Admin API, and never prints the secret', async () => {
  const r = await scan([path.join(dir, 'clean.txt'), path.join(dir, 'leak.env')], {
    ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
    ANTHROPIC_BASE_URL: sim.url,
  });
  expect(r.code).toBe(1);
  const out = JSON.parse(r.out);
  expect(out.findings).toHaveLength(1);
  expect(out.findings[0]).toMatchObject({
    file: path.join(dir, 'leak.env'),
    line: 2,
    column: 19,
    kind: 'anthropic_api_key',
    hint: keyHint(SECRET),
  });
  expect(out.findings[0].key).toMatchObject({ name: 'leaky-key', status: 'active' });
  expect(r.out + r.err).not.toContain(SECRET);
}, 30_000);

it('exits 2 for a file it cannot read', async () => {
  const r = await scan([path.join(dir, 'missing.txt')]);
  expect(r.code).toBe(2);
  expect(r.err).toContain('Cannot read');
}, 30_000);

it('--format jsonl prints one finding per line; --format sarif a SARIF 2.1.0 log with the location', async () => {
  const leak = path.join(dir, 'leak.env');
  const [jsonl, sarif] = await Promise.all([scan(['--format', 'jsonl', leak]), scan(['--format=sarif', leak])]);
  expect(jsonl.code).toBe(1);
  const lines = jsonl.out.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ file: leak, line: 2, hint: keyHint(SECRET) });
  expect(sarif.code).toBe(1);
  const log = JSON.parse(sarif.out);
  expect(log.version).toBe('2.1.0');
  expect(log.runs[0].results[0]).toMatchObject({
    ruleId: 'anthropic_api_key',
    locations: [{ physicalLocation: { artifactLocation: { uri: leak }, region: { startLine: 2, startColumn: 19 } } }],
  });
  expect(jsonl.out + sarif.out).not.toContain(SECRET);
}, 60_000);
