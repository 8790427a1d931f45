/**
 * `scan` against its floors (issue 8), on a generated 50 MB text file of source code and log lines with a few
 * real-shaped keys and many near misses:
 *   (a) the detector in-process against a plain `indexOf('sk-ant-')` pass over the same string (warm, median of 5);
 *   (b) `node bin/quartermaster.mjs scan FILE` against `node plain.mjs FILE` (read the file, count the
 *       `indexOf('sk-ant-')` hits), wall time with start-up, median of 3;
 *   (c) the peak RSS of both commands (reported only).
 * Every ratio is the subject's throughput over the floor's (for memory: the floor's RSS over the subject's), so
 * higher is better. Run alone with `npx tsx bench/scan.ts`.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findSecrets } from '../src/core/leaks/detect.js';
import type { BenchRow } from './lib.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'quartermaster.mjs');
const FILE_BYTES = 50 * 1024 * 1024;
const MB = 1024 * 1024;
/** How many real-shaped secrets the generated file holds (the rest are near misses). */
const PLANTED = 8;

const PLAIN_SCRIPT = `import { readFileSync } from 'node:fs';
const text = readFileSync(process.argv[2], 'utf8');
let n = 0;
for (let i = text.indexOf('sk-ant-'); i !== -1; i = text.indexOf('sk-ant-', i + 1)) n++;
console.log(n);
`;

function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes the deterministic test file: lines of TypeScript, JSON logs, shell and Markdown; about one line in 40
 * carries a near miss (`sk-ant-` in prose, placeholders, keys one character short, with the wrong ending, inside
 * a longer token or one-sided emphasis, half a key at a line's end), and PLANTED real-shaped keys (plain, in
 * emphasis, after an escape and wrapped over two lines) are spread evenly. Returns its size in bytes.
 */
export function generateScanFile(file: string, bytes = FILE_BYTES): number {
  const rnd = prng(8);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const token = (n: number) => {
    let t = '';
    for (let i = 0; i < n; i++) t += chars[Math.floor(rnd() * 64)];
    return t;
  };
  const words = ['request', 'user', 'workspace', 'key', 'usage', 'budget', 'approval', 'member', 'invite', 'report'];
  const n = () => Math.floor(rnd() * 100000);
  const ordinary = [
    () => `  const ${pick(words)}${n()} = await client.${pick(words)}s.list({ limit: ${n() % 1000} });`,
    () => `  if (!${pick(words)}) throw new Error(\`no ${pick(words)} \${id}\`); // ${pick(words)} check`,
    () => `export function ${pick(words)}Of(${pick(words)}: string): number { return ${pick(words)}.length * ${n()}; }`,
    () =>
      `{"level":30,"time":17${n()},"msg":"${pick(words)} handled","path":"/v1/${pick(words)}s","status":200,"ms":${n() % 900}}`,
    () =>
      `2026-01-02T03:04:05.${n() % 1000}Z INFO ${pick(words)} ${n()} approved by user_${token(12)} in ${n() % 50} ms`,
    () => `echo "syncing ${pick(words)}s for workspace wrkspc_${token(24)}" && sleep ${n() % 9}`,
    () =>
      `The ${pick(words)} list shows each ${pick(words)} with its ${pick(words)} and the date it changed (see §${n() % 9}).`,
    () => `    "${pick(words)}_id": "${pick(words)}_${token(20)}", "count": ${n()},`,
    () => '',
  ];
  const nearMisses = [
    () => 'Anthropic API keys look like sk-ant-api03-… and end in AA; admin keys start with sk-ant-admin01-.',
    () => 'ANTHROPIC_API_KEY=sk-ant-api03-REPLACE_ME',
    () => `  key: "sk-ant-api03-${token(92)}AA", // one character short`,
    () => `  key: "sk-ant-api03-${token(93)}AB", // wrong ending`,
    () => `  blob: "xsk-ant-admin01-${token(93)}AA", // inside a longer token`,
    () => `  oauth: "sk-ant-oat01-${token(30)}", // too short`,
    () => `grep -rn 'sk-ant-' . # find keys`,
    () => `  "hint": "sk-ant-api03-R2D...igAA",`,
    () => `{"text":"paste\\nsk-ant-api03-REPLACE_ME\\n"}`,
    () => `the key is _sk-ant-api03-${token(93)}AA (one-sided emphasis)`,
    () => `  sk-ant-api03-${token(50)}`, // a key's first half, its line's end: the next line does not complete it
    () => `ANTHROPIC_API_KEY=sk-ant-api03-${'x'.repeat(93)}AA`,
  ];
  const secrets = [
    () => `ANTHROPIC_API_KEY=sk-ant-api03-${token(93)}AA`,
    () => `  adminKey: 'sk-ant-admin01-${token(93)}AA',`,
    () => `Authorization: Bearer sk-ant-oat01-${token(80)}`,
    () => `Slack said: _sk-ant-api03-${token(93)}AA_`,
    () => {
      const key = `sk-ant-api03-${token(93)}AA`;
      return `{"msg":"\\u003c${key.slice(0, 64)}\n${key.slice(64)}"}`; // after an escape, wrapped over two lines
    },
  ];
  const fd = openSync(file, 'w');
  try {
    let written = 0;
    let planted = 0;
    const lines: string[] = [];
    let pending = 0;
    while (written + pending < bytes) {
      let line: string;
      if (planted < PLANTED && written + pending >= ((planted + 0.5) * bytes) / PLANTED) {
        line = secrets[planted % secrets.length]!();
        planted++;
      } else line = rnd() < 0.025 ? pick(nearMisses)() : pick(ordinary)();
      lines.push(line);
      pending += Buffer.byteLength(line) + 1;
      if (pending > MB) {
        writeSync(fd, `${lines.join('\n')}\n`);
        written += pending;
        pending = 0;
        lines.length = 0;
      }
    }
    writeSync(fd, `${lines.join('\n')}\n`);
    return written + pending;
  } finally {
    closeSync(fd);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall time of a command in ms, and its standard output; rejects unless it exits with one of `codes`. */
function timed(args: string[], cwd: string, codes: number[]): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    execFile(
      process.execPath,
      args,
      { cwd, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 * MB },
      (error, stdout, stderr) => {
        const ms = performance.now() - start;
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        if (!codes.includes(code)) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
        else resolve({ ms, out: stdout });
      },
    );
  });
}

/** Peak RSS in MB of a command: from /usr/bin/time when there is one, else by polling /proc/PID/status. */
async function peakRss(args: string[], cwd: string): Promise<number> {
  const env = { PATH: process.env.PATH ?? '' };
  if (existsSync('/usr/bin/time')) {
    const kb = await new Promise<number>((resolve, reject) => {
      execFile('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, ...args], { cwd, env }, (_error, _out, err) => {
        const m = /maxrss=(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`no RSS from /usr/bin/time: ${err}`));
      });
    });
    return kb / 1024;
  }
  const child = spawn(process.execPath, args, { cwd, env, stdio: 'ignore' });
  let kb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) kb = Math.max(kb, Number(m[1]));
    } catch {}
  }, 5);
  await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(poll);
  return kb / 1024;
}

function row(
  subject: string,
  value: number,
  floorName: string,
  floor: number,
  unit: string,
  ratio: number,
  goal: number | null,
): BenchRow {
  return {
    subject,
    value: Math.round(value * 10) / 10,
    floorName,
    floor: Math.round(floor * 10) / 10,
    unit,
    ratio: Math.round(ratio * 100) / 100,
    goal: goal === null ? 'report only' : `ratio ≥ ${goal}`,
    ok: goal === null || ratio >= goal,
  };
}

export async function measure(): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qm-bench-scan-'));
  try {
    const file = path.join(dir, 'large.txt');
    const size = generateScanFile(file);
    const mb = size / MB;
    const plainScript = path.join(dir, 'plain.mjs');
    writeFileSync(plainScript, PLAIN_SCRIPT);

    // (a) In-process, warm, over the same string.
    const text = readFileSync(file, 'utf8');
    const plainPass = () => {
      let n = 0;
      for (let i = text.indexOf('sk-ant-'); i !== -1; i = text.indexOf('sk-ant-', i + 1)) n++;
      return n;
    };
    const found = findSecrets(text).length;
    if (found !== PLANTED) throw new Error(`the detector found ${found} secrets in the bench file, not ${PLANTED}`);
    for (let i = 0; i < 2; i++) {
      plainPass();
      findSecrets(text);
    }
    const detectorMs: number[] = [];
    const plainMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      plainPass();
      plainMs.push(performance.now() - t);
      t = performance.now();
      findSecrets(text);
      detectorMs.push(performance.now() - t);
    }
    const detector = mb / (median(detectorMs) / 1000);
    const plain = mb / (median(plainMs) / 1000);

    // (b) The command line, start-up counted; one warm-up run each (page cache, tsx's transform cache).
    const scanArgs = [BIN, 'scan', '--format', 'jsonl', file];
    const plainArgs = [plainScript, file];
    const first = await timed(scanArgs, dir, [1]);
    const lines = first.out.trim().split('\n').length;
    if (lines !== PLANTED) throw new Error(`scan reported ${lines} findings in the bench file, not ${PLANTED}`);
    await timed(plainArgs, dir, [0]);
    const cliMs: number[] = [];
    const plainCliMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      plainCliMs.push((await timed(plainArgs, dir, [0])).ms);
      cliMs.push((await timed(scanArgs, dir, [1])).ms);
    }
    const cli = mb / (median(cliMs) / 1000);
    const plainCli = mb / (median(plainCliMs) / 1000);

    // (c) Peak memory of each command.
    const cliRss = await peakRss(scanArgs, dir);
    const plainRss = await peakRss(plainArgs, dir);

    return [
      row(
        `scan: detector in-process (${Math.round(mb)} MB string)`,
        detector,
        "indexOf('sk-ant-') pass",
        plain,
        'MB/s',
        detector / plain,
        0.5,
      ),
      row(
        `scan: quartermaster scan FILE (${Math.round(mb)} MB, ${Math.round(median(cliMs))} ms)`,
        cli,
        `node plain.mjs FILE (${Math.round(median(plainCliMs))} ms)`,
        plainCli,
        'MB/s',
        cli / plainCli,
        0.5,
      ),
      row(
        'scan: quartermaster scan FILE, peak RSS',
        cliRss,
        'node plain.mjs FILE, peak RSS',
        plainRss,
        'MB',
        plainRss / cliRss,
        null,
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  measure().then((rows) => {
    console.table(rows);
    process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
  });
}
