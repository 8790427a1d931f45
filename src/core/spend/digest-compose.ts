/**
 * The digest message for one UTC day, as posted to a channel (with the cost chart attached when a renderer is
 * built in) or shown as a preview (text only). The reports the day needs are synced first (only what is missing
 * or still revisable); when that fails the digest is composed from what is stored, and says so.
 */
import type { Reply } from '../command/reply.js';
import type { ReportName } from '../ports/spend.js';
import type { Services } from '../services.js';
import { buildDigest, CHART_DAYS, DAY_MS, digestChartInput, digestReply, isoDay } from './digest.js';
import { ensureSpendData } from './sync.js';

/** Everything buildDigest reads for day D: the 30 chart days, the month so far and the 7 days before D. */
export function digestWindow(day: Date): { from: Date; to: Date } {
  const d = new Date(Math.floor(day.getTime() / DAY_MS) * DAY_MS);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const from = Math.min(d.getTime() - (CHART_DAYS - 1) * DAY_MS, monthStart, d.getTime() - 7 * DAY_MS);
  return { from: new Date(from), to: new Date(d.getTime() + DAY_MS) };
}

/**
 * Syncs the reports whose ingested range does not cover the window yet (a day the sync jobs have not reached,
 * or older than the backfill). A window already covered is left to the sync jobs, which re-read the days the
 * API may still revise: a digest send then makes no report request at all.
 */
async function ensureIngested(s: Services, window: { from: Date; to: Date }): Promise<void> {
  const missing: ReportName[] = [];
  for (const report of ['costs', 'usage', 'claude_code'] as const) {
    const [from, through] = await Promise.all([s.store.spend.syncedFrom(report), s.store.spend.syncedThrough(report)]);
    if (!from || !through || from > window.from || through < window.to) missing.push(report);
  }
  if (missing.length) await ensureSpendData(s, window, { reports: missing });
}

export async function composeDigest(s: Services, day: Date, o: { chart: boolean }): Promise<Reply> {
  const log = s.logger.child({ digest: isoDay(day) });
  let stale = false;
  try {
    await ensureIngested(s, digestWindow(day));
  } catch (err) {
    stale = true;
    log.warn({ err }, 'syncing the reports for a digest failed; composing it from the stored data');
  }
  const digest = await buildDigest(s, { day });
  const message = digestReply(digest);
  if (stale) {
    message.blocks.push({
      type: 'context',
      text: 'The usage and cost reports could not be refreshed just now: figures are as of the last successful sync.',
    });
  }
  if (o.chart && s.charts) {
    const input = digestChartInput(digest);
    try {
      const png = await s.charts.costChart(input);
      message.files = [
        {
          name: `cost-${isoDay(day)}.png`,
          title: input.title,
          alt: `Stacked bar chart: cost per day in USD for the ${input.days.length} days to ${isoDay(day)}, by workspace (${input.series.map((x) => x.name).join(', ') || 'no spend'}).`.slice(
            0,
            1000,
          ),
          contentType: 'image/png',
          data: png,
        },
      ];
    } catch (err) {
      // The text is complete without the chart.
      log.warn({ err }, 'rendering the digest chart failed; posting the digest without it');
    }
  }
  return message;
}
