/**
 * How much a budget's target has spent in a window, and what that is made of:
 *  - key budgets: the key's usage × prices (an estimate: the cost report has no key dimension);
 *  - workspace and org budgets: the cost report (exact) for the whole UTC days it covers inside the window, topped
 *    up from usage × prices for the hours it does not cover yet (the window's partial days in a non-UTC zone, and
 *    the hours since the last ingested cost day).
 * All sums are done by the database (SpendQueries); money is exact bigint nano-dollars.
 */
import type { Budget } from '../ports/limits.js';
import type { Services } from '../services.js';
import type { Nanos } from '../spend/money.js';
import type { PeriodWindow } from './periods.js';

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

/** The budget's spend in its current period as of `now`. */
export async function budgetSpend(_s: Services, _budget: Budget, _now: Date): Promise<BudgetSpend> {
  throw new Error('budgetSpend: not implemented yet (issue 10, helper "budgets")');
}
