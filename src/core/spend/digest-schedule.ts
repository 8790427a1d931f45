/**
 * When a digest subscription is due, as pure functions: its cron expression, the period a send belongs to (the
 * local day or ISO week in the subscription's zone: one digest per period), and the UTC day it reports on.
 */
import type { DigestSubscription } from '../ports/spend.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];
const WEEKDAY_LABELS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** A digest sent late because the bot was down at its minute still goes out within this window. */
export const CATCH_UP_MS = 6 * 60 * 60_000;
/** A claim neither sent nor released after this long (its replica died mid-send) may be claimed again. */
export const STALE_CLAIM_MS = 15 * 60_000;

const DAY_MS = 24 * 60 * 60_000;

/** `HH:MM` on a 24-hour clock; null when malformed. `9:30` is accepted as 09:30. */
export function parseTime(s: string): string | null {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(s.trim());
  if (!m) return null;
  return `${m[1]!.padStart(2, '0')}:${m[2]}`;
}

/**
 * The canonical spelling of an IANA time zone name (`europe/berlin` → `Europe/Berlin`), or null if unknown. The
 * name typed is kept when ICU knows it as an alias (`Asia/Kolkata`, which ICU resolves to its old name `Asia/Calcutta`).
 */
export function canonicalTimeZone(s: string): string | null {
  const name = s.trim();
  if (!name || name.length > 64) return null;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
  const lower = name.toLowerCase();
  if (resolved.toLowerCase() === lower) return resolved;
  // An alias ICU resolves to another name: the listed spelling of what was typed, else what was typed.
  return Intl.supportedValuesOf('timeZone').find((z) => z.toLowerCase() === lower) ?? name;
}

/** The five-field cron expression of a subscription (node-cron numbers Sunday 0 or 7, Monday 1). */
export function cronExpression(sub: Pick<DigestSubscription, 'cadence' | 'time' | 'weekday'>): string {
  const [hh, mm] = sub.time.split(':').map(Number);
  return `${mm} ${hh} * * ${sub.cadence === 'weekly' ? sub.weekday % 7 : '*'}`;
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(at: Date, timezone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** ISO 8601 week (YYYY-Www) of a calendar date. */
export function isoWeek(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  const dow = (d.getUTCDay() + 6) % 7; // Monday 0
  d.setUTCDate(d.getUTCDate() - dow + 3); // the Thursday of that week decides its year
  const year = d.getUTCFullYear();
  const week = 1 + Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The period a send at `at` belongs to: its local day (daily) or ISO week (weekly). */
export function periodOf(sub: Pick<DigestSubscription, 'cadence' | 'timezone'>, at: Date): string {
  const day = localDate(at, sub.timezone);
  return sub.cadence === 'weekly' ? isoWeek(day) : day;
}

/** The last complete UTC day before an instant, as its midnight. */
export function lastCompleteUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS - DAY_MS);
}

export const weekdayLabel = (weekday: number): string => WEEKDAY_LABELS[(weekday - 1 + 7) % 7]!;

/** How a subscription reads in chat: `daily at 09:00 Europe/Berlin`, `weekly on Monday at 09:00 UTC`. */
export function describeSchedule(sub: Pick<DigestSubscription, 'cadence' | 'time' | 'timezone' | 'weekday'>): string {
  return sub.cadence === 'weekly'
    ? `weekly on ${weekdayLabel(sub.weekday)} at ${sub.time} ${sub.timezone}`
    : `daily at ${sub.time} ${sub.timezone}`;
}
