/**
 * Calendar periods of a budget in its time zone: a day, an ISO week (Monday to Sunday) or a month, as UTC
 * instants [start, end) and a key (YYYY-MM-DD, YYYY-Www, YYYY-MM) that names the period in the alert rows.
 * Daylight-saving time included (a local day can last 23 or 25 hours). Uses Intl only (the core imports no SDK).
 */
import type { BudgetPeriod } from '../ports/limits.js';
import { isoWeek, localDate } from '../spend/digest-schedule.js';

export interface PeriodWindow {
  key: string;
  start: Date;
  end: Date;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timezone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timezone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms (local wall time − UTC). */
function offsetAt(timezone: string, t: number): number {
  const whole = Math.floor(t / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of partsFormatter(timezone).formatToParts(new Date(whole))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
  return wall - whole;
}

/** `YYYY-MM-DD` of a UTC calendar date given as ms at its UTC midnight. */
const dateString = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const dateMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/**
 * The first instant of a local calendar date in a zone: its local midnight, or, where midnight falls in a
 * daylight-saving gap (zones that switch at 00:00), the first wall-clock time that exists that day.
 */
export function startOfLocalDate(date: string, timezone: string): Date {
  const wall = dateMs(date);
  // Two passes: the offset at the guess, then at the instant it gives (correct on either side of a transition).
  let t = wall - offsetAt(timezone, wall);
  t = wall - offsetAt(timezone, t);
  // In a gap the instant read back is not that date's midnight: walk to the first instant of the date (offsets
  // are whole quarter hours).
  const step = 15 * MINUTE;
  for (let i = 0; i < 16 && localDate(new Date(t), timezone) < date; i++) t += step;
  for (let i = 0; i < 16 && localDate(new Date(t - step), timezone) === date; i++) t -= step;
  return new Date(t);
}

/** The period of `kind` containing `at`, in `timezone`. */
export function periodAt(kind: BudgetPeriod, timezone: string, at: Date): PeriodWindow {
  const today = localDate(at, timezone);
  let first: number;
  let next: number;
  let key: string;
  switch (kind) {
    case 'day':
      first = dateMs(today);
      next = first + DAY;
      key = today;
      break;
    case 'week': {
      const d = dateMs(today);
      const dow = (new Date(d).getUTCDay() + 6) % 7; // Monday 0
      first = d - dow * DAY;
      next = first + 7 * DAY;
      key = isoWeek(dateString(first));
      break;
    }
    case 'month': {
      const d = new Date(dateMs(today));
      first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      key = today.slice(0, 7);
      break;
    }
    default:
      throw new Error(`unknown budget period: ${String(kind)}`);
  }
  return {
    key,
    start: startOfLocalDate(dateString(first), timezone),
    end: startOfLocalDate(dateString(next), timezone),
  };
}

/** The period before `p` (same kind and zone). */
export function previousPeriod(kind: BudgetPeriod, timezone: string, p: PeriodWindow): PeriodWindow {
  return periodAt(kind, timezone, new Date(p.start.getTime() - 1));
}
