/**
 * `npm run bench` (tsx bench/run.ts [--only name[,name]]): measures the real `quartermaster start` process
 * against floors measured in the same run on this machine (issue 8), prints a table, writes it to
 * bench/latest.md, and exits 1 when a goal is missed (2 when the benchmark itself could not run).
 *
 * Measurements, in order: startup, load, rss, large, scan, spend (bench/spend.ts: the reports of the large
 * organization ingested and its digest). Each is a module
 * exporting `measure(ctx): Promise<BenchRow[]>`; what they share (the fake Slack, the simulator, the bot under
 * load) is started once (bench/world.ts). Children run in their own process groups and are killed however the
 * run ends; the scratch directory is removed.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchContext, type BenchRow, fmt, type Measure, type Proc, ROOT, spawnProc } from './lib.js';

const MODULES = ['startup', 'load', 'rss', 'large', 'scan', 'spend'] as const;
/** The whole run is stopped (and fails) after this long. */
const WATCHDOG_MS = 12 * 60_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(`Usage: npm run bench [-- [--only ${MODULES.join(',')}] [--keep]]

Measures the real \`quartermaster start\` process against floors measured in the same run; prints the table,
writes bench/latest.md, exits 1 when a goal is missed. --keep leaves the scratch directory (every process's
output) in place and names it.`);
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...MODULES];
  const unknown = only.filter((n) => !(MODULES as readonly string[]).includes(n));
  if (unknown.length) {
    console.error(`Unknown measurement ${unknown.join(', ')}; choose from ${MODULES.join(', ')}.`);
    return 2;
  }

  const tmp = mkdtempSync(path.join(tmpdir(), 'qm-bench-'));
  const procs: Proc[] = [];
  const memos = new Map<string, Promise<unknown>>();
  const notes: string[] = [];
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  const ctx: BenchContext = {
    root: ROOT,
    tmp,
    log: (line) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`),
    note: (line) => notes.push(line),
    spawn: (name, command, args, opts) => {
      const p = spawnProc(name, command, args, tmp, opts);
      procs.push(p);
      return p;
    },
    memo: <T>(key: string, fn: () => Promise<T>) => {
      if (!memos.has(key)) memos.set(key, fn());
      return memos.get(key) as Promise<T>;
    },
  };

  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const p of procs) p.kill();
    if (values.keep) process.stderr.write(`[bench] kept ${tmp} (each process's output is <name>.log there)\n`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      ctx.log(`${signal}: stopping`);
      cleanup();
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    ctx.log(`the run took longer than ${WATCHDOG_MS / 60_000} minutes; stopping`);
    cleanup();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();

  const before = loadavg()[0]!;
  const rows: BenchRow[] = [];
  for (const name of only) {
    const file = path.join(ROOT, 'bench', `${name}.ts`);
    if (!existsSync(file)) {
      ctx.log(`${name}: bench/${name}.ts is not there; skipped`);
      notes.push(`${name}: skipped (bench/${name}.ts is not there).`);
      continue;
    }
    ctx.log(`${name}: measuring`);
    try {
      const mod = (await import(pathToFileURL(file).href)) as { measure: Measure };
      const got = await mod.measure(ctx);
      rows.push(...got);
      for (const r of got) ctx.log(`  ${formatRow(r).join(' | ')}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.log(`${name}: failed: ${err instanceof Error ? err.stack : message}`);
      notes.push(`${name}: the measurement failed: ${message.split('\n')[0]}`);
      rows.push({
        subject: `${name}: could not be measured`,
        value: Number.NaN,
        floorName: '',
        floor: Number.NaN,
        unit: '',
        ratio: Number.NaN,
        goal: 'runs',
        ok: false,
      });
    }
  }
  const load = [before, loadavg()[0]!].map((l) => l.toFixed(1));
  notes.push(
    `Machine load average (1 min) ${load[0]} before the run and ${load[1]} after it, on ${cpus().length} cores: anything else running here shares the CPU with the bot and its floors alike.`,
  );
  ctx.log('stopping the processes');
  await Promise.all(procs.map((p) => p.stop(3000)));

  const table = renderTable(rows);
  console.log(table.text);
  if (notes.length) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
  const missed = rows.filter((r) => !r.ok);
  console.log(missed.length ? `\n${missed.length} goal(s) missed.` : '\nEvery goal met.');
  writeFileSync(path.join(ROOT, 'bench', 'latest.md'), markdown(rows, notes, only, table.markdown));
  ctx.log(`wrote bench/latest.md (${elapsed()} in all)`);
  return missed.length ? 1 : 0;
}

function formatRow(r: BenchRow): string[] {
  const unit = (v: number) => (Number.isNaN(v) ? 'n/a' : `${fmt(v)}${r.unit ? ` ${r.unit}` : ''}`);
  return [
    r.subject,
    unit(r.value),
    Number.isNaN(r.floor) && !r.floorName ? '—' : r.floorName ? `${unit(r.floor)} (${r.floorName})` : unit(r.floor),
    Number.isFinite(r.ratio) ? `${fmt(r.ratio)}×` : '—',
    r.goal,
    r.ok ? 'ok' : 'MISS',
  ];
}

const HEADER = ['subject', 'measured', 'floor', 'ratio', 'goal', 'ok'];

function renderTable(rows: BenchRow[]): { text: string; markdown: string } {
  const cells = rows.map(formatRow);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ');
  const text = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
  const md = [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${c.map((v) => v.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
  return { text, markdown: md };
}

function markdown(rows: BenchRow[], notes: string[], only: string[], table: string): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout.
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}`;
  const missed = rows.filter((r) => !r.ok).length;
  return [
    '# Quartermaster benchmark: latest run',
    '',
    `\`npm run bench${only.length === MODULES.length ? '' : ` -- --only ${only.join(',')}`}\` at ${new Date().toISOString()} on commit ${commit} (${machine}).`,
    `Floors are measured in the same run on the same machine. ${missed ? `${missed} goal(s) missed.` : 'Every goal met.'}`,
    '',
    table,
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
