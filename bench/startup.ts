/**
 * Start-up: spawn of `node bin/quartermaster.mjs start` until GET /healthz answers 200, on an already migrated
 * SQLite database, with Slack over HTTP (the fake) and the built-in simulated organization (no Anthropic variables:
 * what `npm start` does out of the box). Floor: bench/floor-bolt.mjs (bare Bolt with an HTTPReceiver) until it
 * answers any HTTP request. Three runs each, alternating, median. Any `prisma migrate deploy` child seen while
 * the bot starts is reported: with nothing pending there should be none.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, type BenchRow, BIN, fmt, freePort, median, ratioRow, rssMb } from './lib.js';
import { botEnv, fakeSlack, freshDatabase, spawnAndTime, startFloor } from './world.js';

const RUNS = 3;

export async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const fake = await fakeSlack(ctx);
  const databaseUrl = await freshDatabase(ctx, 'startup');
  const bot: number[] = [];
  const floor: number[] = [];
  const migrateRuns: string[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const f = await startFloor(ctx, `startup-floor-${run}`, fake);
    floor.push(f.startMs);
    await f.proc.stop();

    const port = await freePort();
    const b = await spawnAndTime(
      ctx,
      `startup-bot-${run}`,
      [BIN, 'start'],
      botEnv(fake, { databaseUrl, port }),
      port,
      (s) => s === 200,
    );
    bot.push(b.startMs);
    const migrates = b.children.filter((c) => /prisma|migrate/.test(c));
    if (migrates.length) migrateRuns.push(`run ${run}: ${migrates.join('; ')}`);
    ctx.log(`startup run ${run}: bot ${fmt(b.startMs)} ms, bare Bolt ${fmt(f.startMs)} ms`);
    if (run === RUNS) {
      // For the RSS table: the bot on the built-in (small) organization, idle.
      await sleep(5000);
      await ctx.memo('demoIdleRssMb', async () => rssMb(b.proc.pid));
    }
    await b.proc.stop();
  }
  ctx.note(
    `startup: bot runs ${bot.map(fmt).join(', ')} ms; bare Bolt runs ${floor.map(fmt).join(', ')} ms (built-in simulated organization, migrated SQLite file, Slack HTTP mode at the fake).`,
  );
  if (migrateRuns.length) ctx.note(`startup: migrate children seen: ${migrateRuns.join(' | ')}`);
  return [
    ratioRow('startup: spawn → /healthz 200 (median of 3)', median(bot), 'bare Bolt listening', median(floor), 'ms', 3),
    {
      subject: `startup: runs that spawned prisma migrate deploy (of ${RUNS}, none pending)`,
      value: migrateRuns.length,
      floorName: 'none',
      floor: 0,
      unit: '',
      ratio: Number.NaN,
      goal: '= 0',
      ok: migrateRuns.length === 0,
    },
  ];
}
