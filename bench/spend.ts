/**
 * Spend at scale (issue 9): the large organization (simulator --seed large: 10,000 keys, 31+ days of hourly usage)
 * ingested by `quartermaster jobs run usage.sync` and `jobs run costs.sync` into an empty database, each as its own
 * process, then `quartermaster digest --dry-run --format json` for yesterday over what was ingested.
 *  - report requests against the pagination floor: for each report endpoint, the fewest pages of the maximum size
 *    that cover the window the sync asked for (usage 168 hourly buckets, cost 31 days, Claude Code one day per
 *    series of 1,000 records), read from the requests the simulator recorded;
 *  - the peak resident set of each ingest process (VmHWM, polled while it runs) with its JavaScript heap capped at
 *    256 MB: memory is bounded by a page, not by the window, or the process dies;
 *  - the digest's wall time as a process (start-up included, so an upper bound on the computation) and its peak
 *    resident set, against the limits (2 s, 200 MB).
 */
import { readFileSync } from 'node:fs';
import { SIMULATOR_ADMIN_KEY } from '../src/anthropic/simulator/index.js';
import {
  type BenchContext,
  type BenchRow,
  BIN,
  budgetRow,
  cleanEnv,
  fmt,
  jsonLine,
  type Proc,
  ratioRow,
} from './lib.js';
import { freshDatabase, type LargeSimulator, largeSimulator } from './world.js';

const NODE = process.execPath;
const HOUR = 3_600_000;
const HEAP_CAP_MB = 256;
const DAY = 24 * HOUR;
const REPORTS = {
  usage: '/v1/organizations/usage_report/messages',
  cost: '/v1/organizations/cost_report',
  claudeCode: '/v1/organizations/usage_report/claude_code',
} as const;

interface Run {
  ms: number;
  peakMb: number;
  exitCode: Proc['exitCode'];
  /** Every line the process wrote, stdout and stderr. */
  stdout: string[];
  requests: { path: string; query: Record<string, string | string[]> }[];
}

/** Peak resident set (VmHWM) in MB, or NaN once the process is gone. */
function peakMb(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function runCli(
  ctx: BenchContext,
  sim: LargeSimulator,
  name: string,
  args: string[],
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
) {
  const host = `localhost:${sim.port}`;
  const before = (await sim.requests()).length;
  const started = performance.now();
  const proc = ctx.spawn(name, NODE, [BIN, ...args], {
    env: cleanEnv({
      DATABASE_URL: databaseUrl,
      ANTHROPIC_BASE_URL: `http://${host}`,
      ANTHROPIC_ADMIN_KEY: SIMULATOR_ADMIN_KEY,
      LOG_LEVEL: 'info',
      ...extraEnv,
    }),
    cwd: ctx.tmp,
  });
  // Every line (Proc keeps only the last 5,000, and the digest's JSON is longer than that).
  const lines: string[] = [];
  proc.onLine((line) => lines.push(line));
  let peak = 0;
  const poll = setInterval(() => {
    const mb = proc.child.pid ? peakMb(proc.child.pid) : Number.NaN;
    if (Number.isFinite(mb)) peak = Math.max(peak, mb);
  }, 20);
  await proc.exited;
  const ms = performance.now() - started;
  clearInterval(poll);
  // 'exit' can come before the last output is read; the streams close right after.
  await new Promise<void>((resolve) => {
    if (proc.child.stdout?.readableEnded !== false && proc.child.stderr?.readableEnded !== false) resolve();
    proc.child.once('close', () => resolve());
    setTimeout(resolve, 2000).unref();
  });
  const requests = (await sim.requests())
    .slice(before)
    .filter((r: { headers: Record<string, unknown> }) => r.headers.host === host);
  if (proc.exitCode !== 0) ctx.note(`spend: ${args.join(' ')} exited ${proc.exitCode}; see ${proc.name}.log`);
  return { ms, peakMb: peak, exitCode: proc.exitCode, stdout: lines, requests } satisfies Run;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** The fewest pages of `perPage` buckets that cover [earliest starting_at, latest ending_at or now) of `path`. */
function floorFor(run: Run, path: string, widthMs: number, perPage: number): { floor: number; made: number } {
  const reqs = run.requests.filter((r) => r.path === path);
  if (reqs.length === 0) return { floor: 0, made: 0 };
  // Each series starts with a request without a page token; its window is that request's starting_at/ending_at.
  let floor = 0;
  for (const r of reqs.filter((q) => !first(q.query.page))) {
    const start = Date.parse(first(r.query.starting_at) ?? '');
    const endText = first(r.query.ending_at);
    const end = endText ? Date.parse(endText) : Date.now();
    const snapped = start - (start % widthMs);
    floor += Math.max(1, Math.ceil((end - snapped) / widthMs / perPage));
  }
  return { floor, made: reqs.length };
}

export async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const sim = await largeSimulator(ctx);
  const databaseUrl = await freshDatabase(ctx, 'spend');
  const rows: BenchRow[] = [];

  // The directory first (names for the digest), so the digest below measures itself, not a first directory sync.
  ctx.log('spend: jobs run directory.sync');
  await runCli(ctx, sim, 'jobs-run-directory-sync-spend', ['jobs', 'run', 'directory.sync'], databaseUrl);
  ctx.log('spend: jobs run usage.sync (the large organization, into an empty database)');
  // With the JavaScript heap capped: if the ingest held more than a page or so at a time it would die here (V8
  // otherwise grows its heap lazily far beyond what is live, so an uncapped peak says little).
  const capped = { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}` };
  const usage = await runCli(ctx, sim, 'jobs-run-usage-sync', ['jobs', 'run', 'usage.sync'], databaseUrl, capped);
  ctx.log('spend: jobs run costs.sync');
  const costs = await runCli(ctx, sim, 'jobs-run-costs-sync', ['jobs', 'run', 'costs.sync'], databaseUrl, capped);
  const ingested = usage.stdout.find((l) => /^usage\.sync: /.test(l));
  if (ingested) ctx.note(`spend: ${ingested.slice(0, 200)}`);
  const both: Run = {
    ms: usage.ms + costs.ms,
    peakMb: Math.max(usage.peakMb, costs.peakMb),
    exitCode: usage.exitCode || costs.exitCode,
    stdout: [...usage.stdout, ...costs.stdout],
    requests: [...usage.requests, ...costs.requests],
  };
  const u = floorFor(both, REPORTS.usage, HOUR, 168);
  const c = floorFor(both, REPORTS.cost, DAY, 31);
  // Claude Code: one day per series; the floor is one request per day asked for (1,000 records fit a page).
  const ccDays = new Set(
    both.requests.filter((r) => r.path === REPORTS.claudeCode).map((r) => first(r.query.starting_at)),
  );
  const cc = { floor: ccDays.size, made: both.requests.filter((r) => r.path === REPORTS.claudeCode).length };
  ctx.note(
    `spend: usage.sync ${fmt(usage.ms)} ms, costs.sync ${fmt(costs.ms)} ms as processes; report requests: usage ${u.made} (floor ${u.floor}), cost ${c.made} (floor ${c.floor}), Claude Code ${cc.made} over ${cc.floor} days.`,
  );
  const made = u.made + c.made + cc.made;
  const floor = u.floor + c.floor + cc.floor;
  rows.push(ratioRow('spend: report requests for the full ingest', made, 'pagination floor', floor, 'requests', 1.1));
  if (made === 0) rows[rows.length - 1]!.ok = false;
  rows.push(budgetRow(`spend: ingest peak RSS, JavaScript heap capped at ${HEAP_CAP_MB} MB`, both.peakMb, 500, 'MB'));
  if (both.exitCode !== 0) rows[rows.length - 1]!.ok = false;

  ctx.log('spend: digest --dry-run --format json');
  const digest = await runCli(ctx, sim, 'digest-dry-run', ['digest', '--dry-run', '--format', 'json'], databaseUrl);
  const computed = digest.stdout.map(jsonLine).find((l) => l?.msg === 'digest computed from the stored reports');
  const computeMs = typeof computed?.ms === 'number' ? computed.ms : Number.NaN;
  const hasCost = digest.stdout.some((l) => /"cost":\s*\{/.test(l));
  ctx.note(
    `spend: digest --dry-run took ${fmt(digest.ms)} ms as a process (start-up and the freshness check included) and made ${digest.requests.length} Admin API requests after the ingest; its JSON ${hasCost ? 'carries the cost section' : 'was not printed'}.`,
  );
  const time = budgetRow('spend: digest computed (10,000 keys, 31 days)', computeMs, 2000, 'ms');
  const mem = budgetRow('spend: digest process peak RSS', digest.peakMb, 200, 'MB');
  if (digest.exitCode !== 0 || !hasCost) time.ok = mem.ok = false;
  rows.push(time, mem);
  return rows;
}
