/** `npx quartermaster scan [files…]`: JSON findings with hints only, matched to keys; exit 1 when found. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import { SCAN_CHUNK_BYTES } from '../../src/cli/scan.js';
import { findSecrets, keyHint } from '../../src/core/leaks/detect.js';
import { ADMIN_KEY } from '../support/app.js';
import { CORPUS, SECRETS } from '../support/leak-corpus.js';

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

describe('the labelled corpus (test/support/leak-corpus.ts), one file per entry, through each format', () => {
  let files: string[];
  let nearMisses: string[];
  beforeAll(() => {
    const corpus = path.join(dir, 'corpus');
    mkdirSync(corpus);
    files = CORPUS.map((e, n) => {
      const file = path.join(corpus, `${String(n).padStart(3, '0')}.txt`);
      writeFileSync(file, e.text);
      return file;
    });
    nearMisses = files.filter((_, n) => CORPUS[n]!.expected.length === 0);
  });
  /** What the command must report for each file: findSecrets on its text (itself checked against the labels). */
  const want = () => CORPUS.flatMap((e, n) => findSecrets(e.text).map((f) => ({ file: files[n]!, ...f })));
  /** No secret of the corpus, nor the middle of one, in what the command printed. */
  const noSecret = (out: string) => {
    for (const secret of [...Object.values(SECRETS), ...CORPUS.flatMap((e) => e.expected.map((x) => x.secret))]) {
      expect(out).not.toContain(secret.slice(16, -4));
    }
  };

  it('json and jsonl: every secret with its kind, hint and position, no near miss; exit 1', async () => {
    const [json, jsonl] = await Promise.all([scan(files), scan(['--format', 'jsonl', ...files])]);
    expect(json.code).toBe(1);
    expect(jsonl.code).toBe(1);
    const expected = want();
    expect(expected.length).toBe(CORPUS.reduce((n, e) => n + e.expected.length, 0));
    const strip = ({ key: _, ...f }: { key: unknown }) => f;
    expect(JSON.parse(json.out).findings.map(strip)).toEqual(expected);
    expect(JSON.parse(json.out).scanned).toEqual(files);
    const lines = jsonl.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map(strip)).toEqual(expected);
    noSecret(json.out + json.err + jsonl.out + jsonl.err);
  }, 60_000);

  it('sarif: a valid SARIF 2.1.0 shape, a rule for each kind found and a result with its location for each secret', async () => {
    const r = await scan(['--format', 'sarif', ...files]);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.out);
    expect(log).toMatchObject({ version: '2.1.0', $schema: expect.stringContaining('sarif') });
    expect(log.runs).toHaveLength(1);
    const { driver } = log.runs[0].tool;
    expect(driver.name).toEqual(expect.any(String));
    expect(driver.rules.map((rule: { id: string }) => rule.id).sort()).toEqual([
      'anthropic_admin_key',
      'anthropic_api_key',
      'anthropic_oauth_token',
    ]);
    for (const rule of driver.rules) expect(rule.shortDescription.text).toEqual(expect.any(String));
    expect(
      log.runs[0].results.map(
        (res: {
          ruleId: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: Record<string, number> } }[];
        }) => {
          expect(res.message.text).toContain('sk-ant-');
          expect(res.locations).toHaveLength(1);
          const { artifactLocation, region } = res.locations[0]!.physicalLocation;
          return { ruleId: res.ruleId, uri: artifactLocation.uri, ...region };
        },
      ),
    ).toEqual(want().map((f) => ({ ruleId: f.kind, uri: f.file, startLine: f.line, startColumn: f.column })));
    noSecret(r.out + r.err);
  }, 60_000);

  it('only the near misses: no finding and exit 0 in every format', async () => {
    const runs = await Promise.all(
      ['json', 'jsonl', 'sarif'].map((format) => scan(['--format', format, ...nearMisses])),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(JSON.parse(runs[0]!.out).findings).toEqual([]);
    expect(JSON.parse(runs[0]!.out).scanned).toHaveLength(nearMisses.length);
    expect(runs[1]!.out).toBe('');
    const sarif = JSON.parse(runs[2]!.out);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toEqual([]);
  }, 60_000);

  it('a secret and an unreadable file: the finding is printed and the exit code is 2; a bad format is exit 2', async () => {
    const [both, bad] = await Promise.all([
      scan(['--format', 'jsonl', files[0]!, path.join(dir, 'missing.txt')]),
      scan(['--format', 'xml', files[0]!]),
    ]);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.out.trim()).hint).toBe(keyHint(CORPUS[0]!.expected[0]!.secret));
    expect(both.err).toContain('Cannot read');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--format must be json, jsonl or sarif');
  }, 60_000);
});
