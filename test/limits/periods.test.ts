/** Budget periods in a time zone: calendar days, ISO weeks and months as UTC instants, daylight-saving time included. */
import { describe, expect, it } from 'vitest';
import { periodAt, previousPeriod } from '../../src/core/limits/periods.js';

const iso = (p: { key: string; start: Date; end: Date }) => ({
  key: p.key,
  start: p.start.toISOString(),
  end: p.end.toISOString(),
});
const at = (s: string) => new Date(s);
const hours = (p: { start: Date; end: Date }) => (p.end.getTime() - p.start.getTime()) / 3_600_000;

describe('periodAt: days', () => {
  it('a UTC day is midnight to midnight', () => {
    expect(iso(periodAt('day', 'UTC', at('2026-11-26T08:30:00Z')))).toEqual({
      key: '2026-11-26',
      start: '2026-11-26T00:00:00.000Z',
      end: '2026-11-27T00:00:00.000Z',
    });
  });

  it('Europe/Berlin: the spring-forward day lasts 23 hours, the fall-back day 25', () => {
    const spring = periodAt('day', 'Europe/Berlin', at('2026-03-29T12:00:00Z'));
    expect(iso(spring)).toEqual({
      key: '2026-03-29',
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
    });
    expect(hours(spring)).toBe(23);
    const fall = periodAt('day', 'Europe/Berlin', at('2026-10-25T12:00:00Z'));
    expect(iso(fall)).toEqual({
      key: '2026-10-25',
      start: '2026-10-24T22:00:00.000Z',
      end: '2026-10-25T23:00:00.000Z',
    });
    expect(hours(fall)).toBe(25);
  });

  it('America/New_York: the DST days, and an instant that is still yesterday there', () => {
    expect(iso(periodAt('day', 'America/New_York', at('2026-03-08T12:00:00Z')))).toEqual({
      key: '2026-03-08',
      start: '2026-03-08T05:00:00.000Z',
      end: '2026-03-09T04:00:00.000Z',
    });
    expect(iso(periodAt('day', 'America/New_York', at('2026-11-01T12:00:00Z')))).toEqual({
      key: '2026-11-01',
      start: '2026-11-01T04:00:00.000Z',
      end: '2026-11-02T05:00:00.000Z',
    });
    // 03:00 UTC on the 27th is 22:00 on the 26th in New York.
    expect(periodAt('day', 'America/New_York', at('2026-11-27T03:00:00Z')).key).toBe('2026-11-26');
  });

  it('a half-hour zone (Asia/Kolkata) and the instants at the edges', () => {
    const p = periodAt('day', 'Asia/Kolkata', at('2026-11-26T10:00:00Z'));
    expect(iso(p)).toEqual({ key: '2026-11-26', start: '2026-11-25T18:30:00.000Z', end: '2026-11-26T18:30:00.000Z' });
    expect(periodAt('day', 'Asia/Kolkata', p.start).key).toBe('2026-11-26');
    expect(periodAt('day', 'Asia/Kolkata', new Date(p.end.getTime() - 1)).key).toBe('2026-11-26');
    expect(periodAt('day', 'Asia/Kolkata', p.end).key).toBe('2026-11-27');
  });

  it('a zone whose midnight falls in the DST gap starts its day at the first wall time that exists', () => {
    // Chile moves its clocks from 00:00 to 01:00 on the first Sunday of September.
    const p = periodAt('day', 'America/Santiago', at('2026-09-06T15:00:00Z'));
    expect(p.key).toBe('2026-09-06');
    expect(p.start.toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(hours(p)).toBe(23);
  });
});

describe('periodAt: ISO weeks', () => {
  it('Monday to Sunday, keyed YYYY-Www', () => {
    expect(iso(periodAt('week', 'UTC', at('2026-11-26T08:00:00Z')))).toEqual({
      key: '2026-W48',
      start: '2026-11-23T00:00:00.000Z',
      end: '2026-11-30T00:00:00.000Z',
    });
  });

  it('across a year end the week belongs to the year of its Thursday', () => {
    // 2026 has 53 ISO weeks: Monday 28 December 2026 to Sunday 3 January 2027.
    expect(iso(periodAt('week', 'UTC', at('2027-01-02T12:00:00Z')))).toEqual({
      key: '2026-W53',
      start: '2026-12-28T00:00:00.000Z',
      end: '2027-01-04T00:00:00.000Z',
    });
    expect(periodAt('week', 'UTC', at('2024-12-31T12:00:00Z')).key).toBe('2025-W01');
  });

  it('in Berlin a week spanning the fall-back day lasts 169 hours', () => {
    const p = periodAt('week', 'Europe/Berlin', at('2026-10-22T12:00:00Z'));
    expect(iso(p)).toEqual({ key: '2026-W43', start: '2026-10-18T22:00:00.000Z', end: '2026-10-25T23:00:00.000Z' });
    expect(hours(p)).toBe(169);
  });

  it('Sunday late evening in New York is still that week; Monday 00:00 there is the next', () => {
    expect(periodAt('week', 'America/New_York', at('2026-11-30T04:59:59Z')).key).toBe('2026-W48');
    expect(periodAt('week', 'America/New_York', at('2026-11-30T05:00:00Z')).key).toBe('2026-W49');
  });
});

describe('periodAt: months', () => {
  it('Berlin: March starts in winter time and ends in summer time', () => {
    expect(iso(periodAt('month', 'Europe/Berlin', at('2026-03-15T12:00:00Z')))).toEqual({
      key: '2026-03',
      start: '2026-02-28T23:00:00.000Z',
      end: '2026-03-31T22:00:00.000Z',
    });
  });

  it('the year end, and an instant that is already next month locally', () => {
    expect(iso(periodAt('month', 'Europe/Berlin', at('2026-12-31T22:59:59Z')))).toEqual({
      key: '2026-12',
      start: '2026-11-30T23:00:00.000Z',
      end: '2026-12-31T23:00:00.000Z',
    });
    expect(periodAt('month', 'Europe/Berlin', at('2026-12-31T23:00:00Z')).key).toBe('2027-01');
    expect(periodAt('month', 'UTC', at('2026-12-31T23:00:00Z')).key).toBe('2026-12');
    expect(periodAt('month', 'America/New_York', at('2027-01-01T03:00:00Z')).key).toBe('2026-12');
  });

  it('February in a leap year', () => {
    expect(iso(periodAt('month', 'UTC', at('2028-02-10T00:00:00Z')))).toEqual({
      key: '2028-02',
      start: '2028-02-01T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
  });
});

describe('previousPeriod', () => {
  it('steps back one day, week or month, across DST and year ends', () => {
    const tz = 'Europe/Berlin';
    const day = periodAt('day', tz, at('2026-03-30T12:00:00Z'));
    expect(iso(previousPeriod('day', tz, day))).toEqual({
      key: '2026-03-29',
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
    });
    const week = periodAt('week', 'UTC', at('2025-01-01T12:00:00Z'));
    expect(week.key).toBe('2025-W01');
    expect(iso(previousPeriod('week', 'UTC', week))).toEqual({
      key: '2024-W52',
      start: '2024-12-23T00:00:00.000Z',
      end: '2024-12-30T00:00:00.000Z',
    });
    const month = periodAt('month', tz, at('2027-01-10T12:00:00Z'));
    const prev = previousPeriod('month', tz, month);
    expect(prev.key).toBe('2026-12');
    expect(prev.end.getTime()).toBe(month.start.getTime());
  });
});
