/**
 * Memory: the bot's resident set (VmRSS) idle 5 s after start and right after the load of bench/load.ts (when the
 * last reply arrived), next to bare Bolt's at the same moments, for context. Budgets from issue 8.
 */
import { type BenchContext, type BenchRow, budgetRow } from './lib.js';
import { runLoads } from './load.js';
import { mainBot } from './world.js';

export async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const bot = await mainBot(ctx);
  const load = await runLoads(ctx);
  const rows = [
    { ...budgetRow('rss: idle 5 s after start (large org)', bot.idleRssMb, 150, 'MB'), floorName: 'bare Bolt idle' },
    { ...budgetRow('rss: after the load', load.bot.rssAfterMb, 250, 'MB'), floorName: 'bare Bolt after load' },
  ];
  // The floor column shows bare Bolt for context; the goal is the budget.
  rows[0]!.floor = load.floorIdleRssMb;
  rows[1]!.floor = load.floor.rssAfterMb;
  rows[0]!.ratio = bot.idleRssMb / load.floorIdleRssMb;
  rows[1]!.ratio = load.bot.rssAfterMb / load.floor.rssAfterMb;
  const demo = await ctx.memo<number | null>('demoIdleRssMb', async () => null);
  if (demo !== null) {
    rows.unshift({
      ...budgetRow('rss: idle 5 s after start (built-in demo org)', demo, 150, 'MB'),
      floorName: 'bare Bolt idle',
      floor: load.floorIdleRssMb,
      ratio: demo / load.floorIdleRssMb,
    });
  }
  return rows;
}
