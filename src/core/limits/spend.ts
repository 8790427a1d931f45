/**
 * How much a budget's target has spent in a window, and what that is made of:
 *  - key budgets: the key's usage × prices (an estimate: the cost report has no key dimension);
 *  - workspace and org budgets: the cost report (exact) for the whole UTC days it covers inside the window, topped
 *    up from usage × prices for the hours it does not cover yet (the window's partial days in a non-UTC zone, and
 *    the hours since the last ingested cost day).
 * All sums are done by the database (SpendQueries); money is exact bigint nano-dollars.
 */
import type { Budget } from '../ports/limits.js';
import type { UsageScope } from '../ports/spend.js';
import type { Services } from '../services.js';
import type { Nanos } from '../spend/money.js';
import { estimateNanos } from '../spend/prices.js';
import { type PeriodWindow, periodAt } from './periods.js';

export interface BudgetSpend {
  /** exact + estimated */
  nanos: Nanos;
  /** From the cost report. */
  exactNanos: Nanos;
  /** From usage × prices. */
  estimatedNanos: Nanos;
  /** True when any part is an estimate (key budgets always). */
  estimate: boolean;
  /** Percent of the budget's amount (may exceed 100), as a number for display and threshold checks. */
  percent: number;
  /** Linear forecast for the whole period from the spend so far (null in the period's first hour). */
  forecastNanos: Nanos | null;
  period: PeriodWindow;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const floorDay = (ms: number) => Math.floor(ms / DAY) * DAY;
const ceilDay = (ms: number) => Math.ceil(ms / DAY) * DAY;

/** The budget's spend in its current period as of `now`. */
export async function budgetSpend(s: Services, budget: Budget, now: Date): Promise<BudgetSpend> {
  const period = periodAt(budget.period, budget.timezone, now);
  return spendIn(s, budget, period, now);
}

/** The budget's spend in `period` up to `now` (the whole period once it is over). */
export async function spendIn(s: Services, budget: Budget, period: PeriodWindow, now: Date): Promise<BudgetSpend> {
  const from = period.start.getTime();
  const to = Math.max(from, Math.min(now.getTime(), period.end.getTime()));
  let exactNanos = 0n;
  let estimatedNanos = 0n;
  if (budget.scope === 'key') {
    estimatedNanos = await usageCost(s, from, to, { workspaceIds: [], apiKeyIds: [budget.targetId] });
  } else {
    const scope: UsageScope | undefined =
      budget.scope === 'workspace' ? { workspaceIds: [budget.targetId], apiKeyIds: [] } : undefined;
    // The cost report counts only for the UTC days it has written completely: syncedThrough stops at the start of
    // the current UTC day (that day is fetched again, it is partial), and starts where the ingested range starts.
    const [through, since] = await Promise.all([
      s.store.spend.syncedThrough('costs'),
      s.store.spend.syncedFrom('costs'),
    ]);
    let coveredFrom = ceilDay(Math.max(from, since?.getTime() ?? from));
    let coveredTo = floorDay(Math.min(to, through?.getTime() ?? 0));
    if (through === null || since === null || coveredFrom >= coveredTo) coveredFrom = coveredTo = to;
    if (coveredFrom < coveredTo) {
      const days = await s.store.spendQueries.costByDay(
        new Date(coveredFrom),
        new Date(coveredTo),
        budget.scope === 'workspace' ? { workspaceIds: [budget.targetId] } : {},
      );
      for (const d of days) exactNanos += d.nanos;
    }
    // Usage × prices for the rest of [from, to): before the first covered day, and after the last.
    estimatedNanos = (await usageCost(s, from, coveredFrom, scope)) + (await usageCost(s, coveredTo, to, scope));
  }
  const nanos = exactNanos + estimatedNanos;
  const elapsed = to - from;
  const length = period.end.getTime() - from;
  return {
    nanos,
    exactNanos,
    estimatedNanos,
    estimate: budget.scope === 'key' || estimatedNanos > 0n,
    percent: percentOf(nanos, budget.amountNanos),
    forecastNanos: elapsed < HOUR ? null : elapsed >= length ? nanos : (nanos * BigInt(length)) / BigInt(elapsed),
    period,
  };
}

/** Spend as a percent of an amount, rounded down to hundredths (so `percent >= t` is exact for whole `t`). */
export function percentOf(nanos: Nanos, amount: Nanos): number {
  if (amount <= 0n) return nanos > 0n ? Number.POSITIVE_INFINITY : 0;
  return Number((nanos * 10_000n) / amount) / 100;
}

/** Usage × prices over [from, to) (nothing for an empty window; models without a price count nothing). */
async function usageCost(s: Services, from: number, to: number, scope: UsageScope | undefined): Promise<Nanos> {
  if (to <= from) return 0n;
  const groups = await s.store.spendQueries.tokens(new Date(from), new Date(to), ['model', 'serviceTier'], scope);
  let total = 0n;
  for (const g of groups) total += estimateNanos(g, g.model ?? '', g.serviceTier ?? '', s.policy.prices) ?? 0n;
  return total;
}
