/** `npx quartermaster scan [files…]`: JSON findings with hints only, matched to keys; exit 1 when found. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { SCAN_CHUNK_BYTES } from '../../src/cli/scan.js';
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

it('reads a file larger than its chunk size piece by piece and gives exact lines and columns for keys cut by a chunk boundary', async () => {
  // Lines of about 64 bytes, some with two-byte characters: a key starts 40 bytes before each chunk boundary, after
  // two-byte characters on its line (so its column in characters differs from its offset in bytes); the last key
  // ends the file.
  const filler = (i: number) => (i % 5 === 0 ? `é line ${i} `.padEnd(63, '.') : `line ${i} `.padEnd(64, '.'));
  const lines: string[] = [];
  let bytes = 0;
  const expected: { line: number; column: number }[] = [];
  const boundaries = [1, 2, 3].map((n) => n * SCAN_CHUNK_BYTES);
  while (bytes < 3 * SCAN_CHUNK_BYTES + 5000) {
    const next = boundaries.find((b) => bytes + 40 <= b && b <= bytes + 200);
    if (next !== undefined) {
      // The key straddles the boundary: it starts 40 bytes before it, after a prefix of 'é' and spaces.
      const lead = next - 40 - bytes; // bytes of this line before the key
      const prefix = `${'é'.repeat(Math.floor(lead / 4))}${' '.repeat(lead - 2 * Math.floor(lead / 4))}`;
      lines.push(`${prefix}${SECRET}`);
      expected.push({ line: lines.length, column: prefix.length + 1 });
      boundaries.splice(boundaries.indexOf(next), 1);
    } else lines.push(filler(lines.length));
    bytes += Buffer.byteLength(lines.at(-1)!) + 1;
  }
  lines.push(`last: ${SECRET}`);
  expected.push({ line: lines.length, column: 7 });
  const file = path.join(dir, 'large.log');
  writeFileSync(file, lines.join('\n'));
  const r = await scan(['--format', 'jsonl', file]);
  expect(r.code).toBe(1);
  const found = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(found.map((f) => ({ line: f.line, column: f.column }))).toEqual(expected);
  expect(found.every((f) => f.kind === 'anthropic_api_key' && f.hint === keyHint(SECRET))).toBe(true);
  expect(expected).toHaveLength(4);
}, 30_000);
