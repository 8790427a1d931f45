/**
 * Audit entries under a steady stream of commands are written together (paced group commit, issue 8): 200 commands
 * a second cost a handful of inserts, not one commit each. Observed from outside: entries written by one insert
 * are confirmed in the same turn of the event loop, and on PostgreSQL share the inserting transaction (xmin).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEntryInput } from '../../src/core/ports/store.js';
import { createTestDatabase, type TestDatabase, testProvider } from '../support/db.js';
import { querySql } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const entry = (action: string): AuditEntryInput => ({
  platform: 'slack',
  teamId: 'T1',
  actorId: 'U1',
  orgUserId: 'user_1',
  actorEmail: 'a@example.com',
  action,
  options: {},
  outcome: 'allowed',
  stage: 'render',
  errorCode: null,
  message: null,
  durationMs: 1,
});

describe('audit group commit under a stream of commands', () => {
  it('writes 60 entries appended 5 ms apart in a few inserts, every one stored in order', async () => {
    // Each confirmation is stamped with the turn of the event loop it arrived in.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const confirmedInTurn: Promise<number>[] = [];
    const started = performance.now();
    for (let i = 0; i < 60; i++) {
      confirmedInTurn.push(db.store.audit.append(entry(`stream ${i}`)).then(() => turn));
      await new Promise((r) => setTimeout(r, 5));
    }
    const turns = await Promise.all(confirmedInTurn);
    const elapsed = performance.now() - started;
    ticking = false;
    const groups = new Set(turns).size;
    // One insert per entry would confirm them in 60 different turns; paced at one insert per 50 ms, at most one
    // group per 50 ms that passed (about 7 over ~300 ms on a quiet machine; timers run late on a busy one).
    const paced = Math.ceil(elapsed / 50) + 2;
    expect(groups).toBeLessThanOrEqual(Math.min(paced, 30));
    expect(groups).toBeGreaterThanOrEqual(2);

    const page = await db.store.audit.list({ limit: 60 });
    expect(page.entries.map((e) => e.action).reverse()).toEqual(Array.from({ length: 60 }, (_, i) => `stream ${i}`));
    if (testProvider() === 'postgres') {
      const rows = await querySql(
        db.url,
        `SELECT count(DISTINCT xmin::text) AS n FROM "AuditEvent" WHERE "action" LIKE 'stream %'`,
      );
      expect(Number(rows[0]?.n)).toBeLessThanOrEqual(Math.min(paced, 30));
    }
  });

  it('a burst appended at once is stored whole and in order', async () => {
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => db.store.audit.append(entry(`burst ${i}`))));
    expect(new Set(burst.map((e) => e.id)).size).toBe(30);
    const page = await db.store.audit.list({ limit: 30 });
    expect(page.entries.map((e) => e.action).reverse()).toEqual(Array.from({ length: 30 }, (_, i) => `burst ${i}`));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps writing when the wall clock steps back a minute (NTP, a resumed VM), and flush does not wait', async () => {
    // Only Date is faked: timers stay real, so a pause computed from the wall clock would really be slept.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    await db.store.audit.append(entry('before the step'));
    vi.setSystemTime(new Date('2026-11-26T11:59:00Z'));
    const written = db.store.audit.append(entry('after the step'));
    const outcome = await Promise.race([
      written.then(() => 'written'),
      new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000)),
    ]);
    expect(outcome).toBe('written');
    const page = await db.store.audit.list({ limit: 2 });
    expect(page.entries.map((e) => e.action)).toEqual(['after the step', 'before the step']);
  });

  it('lists an entry appended a moment ago, without waiting for the pace (read your own writes)', async () => {
    // An insert just happened, so the next entry would wait for the pace.
    await db.store.audit.append(entry('paced first'));
    const pending = db.store.audit.append(entry('just now'));
    const page = await db.store.audit.list({ limit: 1 });
    expect(page.entries.map((e) => e.action)).toEqual(['just now']);
    await pending;
  });
});
