/**
 * Calendar periods of a budget in its time zone: a day, an ISO week (Monday to Sunday) or a month, as UTC
 * instants [start, end) and a key (YYYY-MM-DD, YYYY-Www, YYYY-MM) that names the period in the alert rows.
 * Daylight-saving time included (a local day can last 23 or 25 hours). Uses Intl only (the core imports no SDK).
 */
import type { BudgetPeriod } from '../ports/limits.js';

export interface PeriodWindow {
  key: string;
  start: Date;
  end: Date;
}

/** The period of `kind` containing `at`, in `timezone`. */
export function periodAt(_kind: BudgetPeriod, _timezone: string, _at: Date): PeriodWindow {
  throw new Error('periodAt: not implemented yet (issue 10, helper "budgets")');
}

/** The period before `p` (same kind and zone). */
export function previousPeriod(_kind: BudgetPeriod, _timezone: string, _p: PeriodWindow): PeriodWindow {
  throw new Error('previousPeriod: not implemented yet (issue 10, helper "budgets")');
}
