/**
 * Load: 2,000 signed `/qm whoami` slash commands at 200/s (open loop, by wall clock) from 2,000 distinct Slack
 * users linked to members of the large organization (as after their first command), sent by the fake
 * Slack process to the bot, then the same to the bare Bolt floor (`ack()` then `respond({ text: 'ok' })`).
 * Measured per command: the ack (HTTP response to the POST), and the reply on the response_url. CPU per command:
 * utime + stime of the server process from /proc, from just before the first command until the last reply,
 * divided by the number of commands. The event-loop stall during the load comes from the bot's /metrics.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadResult } from './fake-slack-proc.js';
import {
  type BenchContext,
  type BenchRow,
  budgetRow,
  cpuMs,
  fmt,
  infoRow,
  percentile,
  ratioRow,
  rssMb,
} from './lib.js';
import { fakeSlack, mainBot, startFloor } from './world.js';

export const COMMANDS = 2000;
export const PER_SECOND = 200;

export interface LoadRun {
  result: LoadResult;
  cpuPerCommandMs: number;
  /** RSS when the last reply arrived, MB. */
  rssAfterMb: number;
  /** The load generator's own CPU (fake Slack + sender) over the run, ms. */
  generatorCpuMs: number;
  wallMs: number;
}

export interface LoadOutcome {
  bot: LoadRun;
  floor: LoadRun;
  floorIdleRssMb: number;
  /** Max event-loop delay in the bot during its load, ms (from /metrics). */
  botLagMaxMs: number;
}

/** Both loads, once per run (bench/rss.ts reads the RSS after them). */
export function runLoads(ctx: BenchContext): Promise<LoadOutcome> {
  return ctx.memo('load', async () => {
    const fake = await fakeSlack(ctx);
    const bot = await mainBot(ctx);
    const users = bot.slackUsers.map((u) => u.slackId).slice(0, COMMANDS);

    const floorProc = await startFloor(ctx, 'load-floor', fake);
    await sleep(5000);
    const floorIdleRssMb = rssMb(floorProc.proc.pid);
    ctx.log(`load: ${COMMANDS} × /qm whoami at ${PER_SECOND}/s against bare Bolt (floor)`);
    const floor = await loadOnce(ctx, floorProc.url, floorProc.proc.pid, users, 'ok');
    await floorProc.proc.stop();

    ctx.log(`load: ${COMMANDS} × /qm whoami at ${PER_SECOND}/s against the bot`);
    await bot.scrapeLagMaxMs(); // resets the histogram: the next scrape covers the load only
    const botRun = await loadOnce(ctx, bot.url, bot.proc.pid, users, 'You are');
    const botLagMaxMs = await bot.scrapeLagMaxMs();
    return { bot: botRun, floor, floorIdleRssMb, botLagMaxMs };
  });
}

async function loadOnce(
  ctx: BenchContext,
  url: string,
  pid: number,
  users: string[],
  expect: string,
): Promise<LoadRun> {
  const fake = await fakeSlack(ctx);
  const genBefore = cpuMs(fake.proc.pid);
  const before = cpuMs(pid);
  const started = performance.now();
  const result = await fake.load({
    url,
    text: 'whoami',
    users,
    n: COMMANDS,
    perSecond: PER_SECOND,
    replyTimeoutMs: 30_000,
    expect,
  });
  const cpu = cpuMs(pid) - before;
  // Each ack time in sending order (with --keep, for looking at when the slow ones happened).
  writeFileSync(path.join(ctx.tmp, `acks-${expect === 'ok' ? 'floor' : 'bot'}.json`), JSON.stringify(result.ackMs));
  const wallMs = performance.now() - started;
  const run: LoadRun = {
    result,
    cpuPerCommandMs: cpu / COMMANDS,
    rssAfterMb: rssMb(pid),
    generatorCpuMs: cpuMs(fake.proc.pid) - genBefore,
    wallMs,
  };
  const acks = result.ackMs.filter((x) => !Number.isNaN(x));
  ctx.log(
    `  acks p50 ${fmt(percentile(acks, 50))} ms, p99 ${fmt(percentile(acks, 99))} ms, late/failed ${result.late}; replies ${result.replies}/${COMMANDS} (${result.answered} answered); CPU ${fmt(run.cpuPerCommandMs)} ms/command`,
  );
  return run;
}

export async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const { bot, floor, botLagMaxMs } = await runLoads(ctx);
  // A failed or timed-out ack counts as infinitely slow (Slack gave up on it long before).
  const acks = (r: LoadRun) => r.result.ackMs.filter((x) => !Number.isNaN(x));
  const p = (r: LoadRun, q: number) => percentile(acks(r), q);
  for (const [name, r] of [
    ['bot', bot],
    ['bare Bolt', floor],
  ] as const) {
    const statuses = Object.entries(r.result.statuses)
      .map(([s, n]) => `${s}×${n}`)
      .join(', ');
    ctx.note(
      `load (${name}): answers ${statuses}; ${r.result.answered} of ${r.result.replies} replies were the expected answer${r.result.sampleOther ? ` (other: "${r.result.sampleOther.replace(/\s+/g, ' ').slice(0, 160)}")` : ''}; generator sent ${r.result.n} in ${fmt(r.result.sendSpanMs)} ms (max ${fmt(r.result.sendLagMaxMs)} ms behind schedule) and used ${fmt(r.generatorCpuMs)} ms CPU (${fmt((100 * r.generatorCpuMs) / r.wallMs)}% of one core) with the fake Slack.`,
    );
  }
  const floorP99 = Math.max(p(floor, 99), 1);
  return [
    {
      subject: `load: acks over 3 s or failed (of ${COMMANDS}, ${PER_SECOND}/s)`,
      value: bot.result.late,
      floorName: 'bare Bolt',
      floor: floor.result.late,
      unit: '',
      ratio: Number.NaN,
      goal: '= 0',
      ok: bot.result.late === 0,
    },
    infoRow('load: ack p50', p(bot, 50), 'bare Bolt', p(floor, 50), 'ms'),
    ratioRow('load: ack p99', p(bot, 99), 'bare Bolt, at least 1 ms', floorP99, 'ms', 2),
    infoRow('load: ack max', p(bot, 100), 'bare Bolt', p(floor, 100), 'ms'),
    {
      subject: 'load: whoami answers arrived on response_url',
      value: bot.result.answered,
      floorName: 'bare Bolt',
      floor: floor.result.answered,
      unit: `of ${COMMANDS}`,
      ratio: bot.result.answered / COMMANDS,
      goal: `= ${COMMANDS}`,
      ok: bot.result.answered === COMMANDS,
    },
    infoRow('load: last reply after first send', bot.result.lastReplyMs, 'bare Bolt', floor.result.lastReplyMs, 'ms'),
    ratioRow('load: CPU per command', bot.cpuPerCommandMs, 'bare Bolt ack+respond', floor.cpuPerCommandMs, 'ms', 2),
    budgetRow('load: event-loop stall max during the load', botLagMaxMs, 50, 'ms'),
  ];
}
