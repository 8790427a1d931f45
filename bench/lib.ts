/**
 * Shared types and helpers of `npm run bench` (bench/run.ts): the row every measurement returns, the context it
 * receives, and small process helpers (spawn and always clean up, wait for HTTP, CPU and RSS from /proc).
 * Nothing here is part of the product; it measures the real `quartermaster start` process from the outside.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** One line of the table. `ratio` is measured / floor (NaN when a ratio means nothing, e.g. a count vs 0). */
export interface BenchRow {
  subject: string;
  value: number;
  floorName: string;
  floor: number;
  unit: string;
  ratio: number;
  goal: string;
  ok: boolean;
}

/** What every measurement module receives. */
export interface BenchContext {
  /** Repository root (where package.json is). */
  root: string;
  /** This run's scratch directory, removed at exit. */
  tmp: string;
  /** A progress line on stderr. */
  log(line: string): void;
  /** A line printed under the table (and in bench/latest.md): how something was measured, caveats. */
  note(line: string): void;
  /** Spawns a child that is killed (with its process group) however the run ends; output goes to tmp/<name>.log. */
  spawn(name: string, command: string, args: string[], opts?: SpawnOptions): Proc;
  /** Runs `fn` once per run and shares its result between modules (e.g. the bot under load, then its RSS). */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** A measurement module: bench/<name>.ts exports this. */
export type Measure = (ctx: BenchContext) => Promise<BenchRow[]>;

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'quartermaster.mjs');

/** A row whose goal is "measured / floor ≤ maxRatio". */
export function ratioRow(
  subject: string,
  value: number,
  floorName: string,
  floor: number,
  unit: string,
  maxRatio: number,
): BenchRow {
  const ratio = value / floor;
  return {
    subject,
    value,
    floorName,
    floor,
    unit,
    ratio,
    goal: `≤ ${maxRatio}×`,
    ok: Number.isFinite(ratio) && ratio <= maxRatio,
  };
}

/** A row with an absolute budget (the floor column shows the budget): ok when value ≤ budget. */
export function budgetRow(
  subject: string,
  value: number,
  budget: number,
  unit: string,
  floorName = 'the limit',
): BenchRow {
  const ratio = value / budget;
  return {
    subject,
    value,
    floorName,
    floor: budget,
    unit,
    ratio,
    goal: `≤ ${budget} ${unit}`,
    ok: Number.isFinite(value) && value <= budget,
  };
}

/** A row shown for context only: it never fails the run. */
export function infoRow(subject: string, value: number, floorName: string, floor: number, unit: string): BenchRow {
  return { subject, value, floorName, floor, unit, ratio: value / floor, goal: '(info)', ok: true };
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for no samples. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** A port that was free a moment ago (bound to 127.0.0.1:0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One GET; resolves with the status, or null when nothing answers (refused, reset, timeout). */
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/**
 * Polls `url` every `everyMs` until `accept(status)`; resolves with performance.now() at that answer. Rejects after
 * `timeoutMs`, or as soon as `proc` exits.
 */
export async function waitForHttp(
  url: string,
  o: { accept?: (status: number) => boolean; timeoutMs?: number; everyMs?: number; proc?: Proc } = {},
): Promise<number> {
  const accept = o.accept ?? ((s) => s === 200);
  const end = performance.now() + (o.timeoutMs ?? 60_000);
  while (performance.now() < end) {
    if (o.proc?.exitCode !== undefined) {
      throw new Error(`${o.proc.name} exited (${o.proc.exitCode}) before ${url} answered; see ${o.proc.logPath}`);
    }
    const r = await httpGet(url, {}, 1000);
    if (r && accept(r.status)) return performance.now();
    await sleep(o.everyMs ?? 5);
  }
  throw new Error(`${url} did not answer within ${o.timeoutMs ?? 60_000} ms`);
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of a process (all its threads), in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/**
 * Waits until a process is quiet (under `maxPct` % of one core over a second), at most `maxMs`; resolves with how
 * long that took, ms (`maxMs` when it never settled).
 */
export async function waitQuiet(pid: number, maxMs = 60_000, maxPct = 10): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < maxMs) {
    const before = cpuMs(pid);
    await sleep(1000);
    if (cpuMs(pid) - before <= maxPct * 10) return performance.now() - started;
  }
  return maxMs;
}

/** Resident set size in MB (VmRSS), from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

/** Every live descendant of `pid` with its command line (read from /proc; the kernel has no children file here). */
export function descendants(pid: number): { pid: number; cmdline: string }[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: { pid: number; cmdline: string }[] = [];
  const wanted = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (wanted.has(parent) && !wanted.has(child)) {
        wanted.add(child);
        grew = true;
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim();
        } catch {
          // Gone meanwhile.
        }
        out.push({ pid: child, cmdline });
      }
    }
  }
  return out;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Open an IPC channel (child_process.fork-style) to the child. */
  ipc?: boolean;
}

/** A spawned child: its output is kept in a log file and scanned line by line. */
export class Proc {
  exitCode: number | string | undefined = undefined;
  readonly exited: Promise<void>;
  /** The last 5,000 lines of output. */
  readonly recent: string[] = [];
  private readonly lineListeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  private readonly out: WriteStream;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.out = createWriteStream(logPath);
    const split = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      return (chunk: Buffer) => {
        this.out.write(chunk);
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          this.recent.push(line);
          if (this.recent.length > 5000) this.recent.shift();
          for (const l of this.lineListeners) l(line, stream);
        }
      };
    };
    child.stdout?.on('data', split('stdout'));
    child.stderr?.on('data', split('stderr'));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? signal ?? 'unknown';
        resolve();
      });
      child.on('error', (err) => {
        this.exitCode = `spawn error: ${err.message}`;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** The last line seen so far for which `match` returns a value. */
  findLine<T>(match: (line: string) => T | undefined | null): T | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const v = match(this.recent[i]!);
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  }

  /** The first line for which `match` returns a value (or rejects when the process exits or time runs out). */
  waitForLine<T>(match: (line: string) => T | undefined | null, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no expected output within ${timeoutMs} ms; see ${this.logPath}`));
      }, timeoutMs);
      const off = this.onLine((line) => {
        const v = match(line);
        if (v !== undefined && v !== null) {
          clearTimeout(timer);
          off();
          resolve(v);
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        off();
        reject(new Error(`${this.name} exited (${this.exitCode}); see ${this.logPath}`));
      });
    });
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitCode !== undefined) return;
    signalGroup(this.pid, 'SIGTERM');
    const killed = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) {
      signalGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
    this.out.end();
  }

  /** Immediate, synchronous: for exit handlers. */
  kill(): void {
    if (this.exitCode === undefined) signalGroup(this.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The child leads its own process group (detached), so this reaches what it spawned too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Spawns a tracked child in its own process group. */
export function spawnProc(
  name: string,
  command: string,
  args: string[],
  logDir: string,
  opts: SpawnOptions = {},
): Proc {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env as NodeJS.ProcessEnv | undefined,
    detached: true,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    // Structured clone over IPC: Infinity (a failed ack) survives, where JSON would make it null.
    ...(opts.ipc ? { serialization: 'advanced' as const } : {}),
  });
  return new Proc(name, child, path.join(logDir, `${name}.log`));
}

/**
 * The environment for a child: this process's, minus everything Quartermaster reads (so a developer's own
 * ANTHROPIC_ADMIN_KEY or DATABASE_URL never reaches a benchmark process), plus `extra`.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(ANTHROPIC_|SLACK_|DISCORD_|QM_|GITHUB_WEBHOOK|LEAK_WEBHOOK|METRICS_TOKEN|npm_)/.test(k)) continue;
    if (['DATABASE_URL', 'PORT', 'HOST', 'LOG_LEVEL', 'NODE_OPTIONS', 'DB_PROVIDER'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** A pino JSON log line, or null. */
export function jsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** `1234.5678` → `1235`, `12.345` → `12.3`, `0.01234` → `0.0123`. */
export function fmt(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(n)) return 'n/a';
  const a = Math.abs(n);
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}
