/**
 * The limits store (src/store/limits-store.ts) on the test database: budgets round-trip and stay one per target
 * under concurrent upserts; each threshold claim, enforcement, re-enable claim and anomaly goes to exactly one of
 * any number of concurrent callers. Run with DB_PROVIDER=sqlite and DB_PROVIDER=postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetInput, LimitsStore } from '../../src/core/ports/limits.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { big, querySql } from '../support/sql.js';

let db: TestDatabase;
let limits: LimitsStore;
beforeAll(async () => {
  db = await createTestDatabase();
  limits = db.store.limits;
});
afterAll(async () => {
  await db?.drop();
});

const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const N = 8;
const all = <T>(f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: N }, (_, i) => f(i)));
const trues = (xs: readonly unknown[]) => xs.filter((x) => x === true).length;

const input = (over: Partial<BudgetInput> = {}): BudgetInput => ({
  scope: 'workspace',
  targetId: 'wrkspc_01',
  targetName: 'Research',
  workspaceId: 'wrkspc_01',
  amountNanos: 4_000_000_000_123n, // beyond 32 bits: stored as BIGINT
  period: 'month',
  timezone: 'Europe/Berlin',
  thresholds: [50, 80, 100],
  enforce: true,
  reenable: 'manual',
  platform: 'slack',
  teamId: 'T0TEAM',
  channelId: 'C0ALERTS',
  createdBy: 'user_01',
  ...over,
});

async function count(table: string): Promise<number> {
  const [r] = await querySql(db.url, `SELECT COUNT(*) AS n FROM "${table}"`);
  return Number(big(r!.n));
}

describe('budgets', () => {
  it('round-trips a budget, and changing it keeps its id and createdAt', async () => {
    const { budget, created } = await limits.upsertBudget(input(), at(0));
    expect(created).toBe(true);
    expect(budget.id).toMatch(/^bud_[A-Za-z0-9_-]{8,24}$/);
    expect(budget).toEqual({ ...input(), id: budget.id, createdAt: at(0), updatedAt: at(0) });
    expect(await limits.getBudget(budget.id)).toEqual(budget);
    expect(await limits.findBudget('workspace', 'wrkspc_01')).toEqual(budget);
    const [row] = await querySql(db.url, 'SELECT "thresholds" FROM "Budget" WHERE "id" = ?', [budget.id]);
    expect(row!.thresholds).toBe('50,80,100');

    const changed = await limits.upsertBudget(
      input({ amountNanos: 5n, thresholds: [90], enforce: false, reenable: 'next_period', period: 'day' }),
      at(5),
    );
    expect(changed.created).toBe(false);
    expect(changed.budget).toMatchObject({
      id: budget.id,
      amountNanos: 5n,
      thresholds: [90],
      enforce: false,
      reenable: 'next_period',
      period: 'day',
      createdAt: at(0),
      updatedAt: at(5),
    });
    expect(await limits.findBudget('workspace', 'wrkspc_01')).toEqual(changed.budget);
    expect(await limits.findBudget('key', 'wrkspc_01')).toBeNull();
    expect(await limits.getBudget('bud_nope')).toBeNull();
  });

  it(`ends ${N} concurrent upserts of one target with one row`, async () => {
    const results = await all((i) =>
      limits.upsertBudget(input({ scope: 'org', targetId: '', workspaceId: '', amountNanos: BigInt(i + 1) }), at(10)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.budget.id));
    expect(ids.size).toBe(1);
    const [r] = await querySql(db.url, `SELECT COUNT(*) AS n FROM "Budget" WHERE "scope" = 'org'`);
    expect(Number(big(r!.n))).toBe(1);
    const org = await limits.findBudget('org', '');
    expect(org?.id).toBe([...ids][0]);
    expect(results.map((x) => x.budget.amountNanos)).toContain(org?.amountNanos);
  });

  it('keeps amounts beyond 2^53 nano-dollars ($9,007,199.25) exact, and every budget still lists', async () => {
    const huge = 9_007_199_254_740_993n;
    const { budget } = await limits.upsertBudget(
      input({ scope: 'key', targetId: 'apikey_huge', amountNanos: huge * 1000n }),
      at(50),
    );
    expect((await limits.getBudget(budget.id))?.amountNanos).toBe(huge * 1000n);
    expect(await limits.claimCrossing(budget.id, '2026-03', 100, huge, at(51))).toBe(true);
    expect((await limits.alerts(budget.id))[0]?.spendNanos).toBe(huge);
    expect((await limits.listBudgets()).find((b) => b.id === budget.id)?.amountNanos).toBe(huge * 1000n);
    expect(await limits.deleteBudget('key', 'apikey_huge')).toMatchObject({ id: budget.id });
  });

  it('lists budgets oldest first', async () => {
    await limits.upsertBudget(input({ scope: 'key', targetId: 'apikey_later', targetName: 'later' }), at(100));
    await limits.upsertBudget(input({ scope: 'key', targetId: 'apikey_earlier', targetName: 'earlier' }), at(-100));
    const list = await limits.listBudgets();
    expect(list.map((b) => b.targetId)).toEqual(['apikey_earlier', 'wrkspc_01', '', 'apikey_later']);
  });
});

describe('threshold alerts', () => {
  const B = 'bud_alerts';

  it(`gives a crossing to exactly one of ${N} concurrent callers, and to none on repeat`, async () => {
    const results = await all((i) => limits.claimCrossing(B, '2026-03', 80, BigInt(800 + i), at(20)));
    expect(trues(results)).toBe(1);
    expect(await limits.claimCrossing(B, '2026-03', 80, 900n, at(21))).toBe(false);
    const [row] = await limits.alerts(B, '2026-03');
    expect(row).toMatchObject({ budgetId: B, period: '2026-03', threshold: 80, state: 'over', crossedAt: at(20) });
    expect(row!.backUnderAt).toBeNull();
    expect(row!.resetAt).toBeNull();
    expect(row!.spendNanos >= 800n && row!.spendNanos < 800n + BigInt(N)).toBe(true);
    // Another threshold and another period are separate claims.
    expect(await limits.claimCrossing(B, '2026-03', 100, 1000n, at(22))).toBe(true);
    expect(await limits.claimCrossing(B, '2026-04', 80, 800n, at(22))).toBe(true);
    expect((await limits.alerts(B)).map((a) => `${a.period}/${a.threshold}`)).toEqual([
      '2026-03/80',
      '2026-03/100',
      '2026-04/80',
    ]);
  });

  it('flips back under once, then re-crosses once', async () => {
    const backs = await all(() => limits.claimBackUnder(B, '2026-03', 80, 700n, at(30)));
    expect(trues(backs)).toBe(1);
    expect((await limits.alerts(B, '2026-03'))[0]).toMatchObject({
      threshold: 80,
      state: 'under',
      backUnderAt: at(30),
      spendNanos: 700n,
      crossedAt: at(20),
    });
    // Nothing to flip back under for a row that does not exist.
    expect(await limits.claimBackUnder(B, '2026-03', 50, 1n, at(30))).toBe(false);

    const again = await all((i) => limits.claimCrossing(B, '2026-03', 80, BigInt(850 + i), at(40)));
    expect(trues(again)).toBe(1);
    const [row] = await limits.alerts(B, '2026-03');
    expect(row).toMatchObject({ threshold: 80, state: 'over', crossedAt: at(40), backUnderAt: null });
    expect(row!.spendNanos >= 850n).toBe(true);
    expect(await limits.claimCrossing(B, '2026-03', 80, 900n, at(41))).toBe(false);
  });

  it('claims the period-reset notice of a row still over once', async () => {
    const resets = await all(() => limits.claimReset(B, '2026-03', 100, at(50)));
    expect(trues(resets)).toBe(1);
    expect((await limits.alerts(B, '2026-03')).find((a) => a.threshold === 100)?.resetAt).toEqual(at(50));
    expect(await limits.claimReset(B, '2026-03', 100, at(51))).toBe(false);
    // A row that is under gets no reset notice.
    expect(await limits.claimBackUnder(B, '2026-04', 80, 1n, at(50))).toBe(true);
    expect(await limits.claimReset(B, '2026-04', 80, at(50))).toBe(false);
  });
});

describe('enforcement', () => {
  it(`creates one enforcement of ${N} concurrent attempts`, async () => {
    const results = await all((i) =>
      limits.createEnforcement('bud_enf', '2026-03', [`apikey_${i}`, 'apikey_x'], at(60)),
    );
    const made = results.filter((r) => r !== null);
    expect(made).toHaveLength(1);
    const e = made[0]!;
    expect(e.id).toMatch(/^enf_[A-Za-z0-9_-]{8,24}$/);
    expect(e).toMatchObject({ budgetId: 'bud_enf', period: '2026-03', disabledAt: at(60), reenabledAt: null });
    expect(e.card).toBeNull();
    expect(await limits.enforcementFor('bud_enf', '2026-03')).toEqual(e);
    expect(await limits.createEnforcement('bud_enf', '2026-03', [], at(61))).toBeNull();

    await limits.setEnforcementKeys(e.id, ['apikey_a', 'apikey_"b"']);
    const card = { platform: 'discord' as const, teamId: '1400', channelId: '1401', messageId: '1402' };
    await limits.setEnforcementCard(e.id, card);
    expect(await limits.getEnforcement(e.id)).toEqual({ ...e, keyIds: ['apikey_a', 'apikey_"b"'], card });
    expect((await limits.openEnforcements()).map((x) => x.id)).toEqual([e.id]);
  });

  it(`gives the re-enabling to one of ${N} concurrent approvers; a release lets it be claimed again`, async () => {
    const e = (await limits.enforcementFor('bud_enf', '2026-03'))!;
    const results = await all((i) => limits.claimReenable(e.id, `user_${i}`, at(70)));
    const won = results.filter((r) => r !== null);
    expect(won).toHaveLength(1);
    const by = won[0]!.reenabledBy!;
    expect(won[0]).toMatchObject({ id: e.id, reenabledAt: at(70), reenabledBy: by });
    expect(await limits.openEnforcements()).toEqual([]);
    expect(await limits.claimReenable(e.id, 'user_late', at(71))).toBeNull();

    // Only the holder can give it back.
    await limits.releaseReenable(e.id, 'someone_else');
    expect(await limits.getEnforcement(e.id)).toMatchObject({ reenabledAt: at(70), reenabledBy: by });
    await limits.releaseReenable(e.id, by);
    expect(await limits.getEnforcement(e.id)).toMatchObject({ reenabledAt: null, reenabledBy: null });
    expect((await limits.openEnforcements()).map((x) => x.id)).toEqual([e.id]);

    const second = await all(() => limits.claimReenable(e.id, 'next_period', at(80)));
    expect(second.filter((r) => r !== null)).toHaveLength(1);
    expect(await limits.getEnforcement(e.id)).toMatchObject({ reenabledAt: at(80), reenabledBy: 'next_period' });
    expect(await limits.claimReenable('enf_nope', 'user_1', at(80))).toBeNull();
  });
});

describe('runaway spend', () => {
  const episode = (startedAt: Date, subjectId = 'apikey_hot') => ({
    subjectType: 'key' as const,
    subjectId,
    window: 'hour' as const,
    startedAt,
    lastSeenAt: startedAt,
    costNanos: 5_000n,
    baselineNanos: 100n,
  });

  it(`opens one episode of ${N} concurrent attempts, and keeps it open until ended`, async () => {
    const results = await all(() => limits.createAnomaly(episode(at(120))));
    const made = results.filter((r) => r !== null);
    expect(made).toHaveLength(1);
    const a = made[0]!;
    expect(a.id).toMatch(/^anm_[A-Za-z0-9_-]{8,24}$/);
    expect(a).toEqual({ ...episode(at(120)), id: a.id, endedAt: null, card: null });
    expect(await count('SpendAnomaly')).toBe(1);
    expect(await limits.openAnomaly('key', 'apikey_hot')).toEqual(a);
    expect(await limits.openAnomaly('workspace', 'apikey_hot')).toBeNull();

    await limits.touchAnomaly(a.id, at(180), 9_000n);
    const card = {
      platform: 'slack' as const,
      teamId: 'T0TEAM',
      channelId: 'C0ALERTS',
      messageId: '1700000000.000100',
    };
    await limits.setAnomalyCard(a.id, card);
    expect(await limits.getAnomaly(a.id)).toEqual({ ...a, lastSeenAt: at(180), costNanos: 9_000n, card });

    await limits.endAnomaly(a.id, at(240));
    expect(await limits.openAnomaly('key', 'apikey_hot')).toBeNull();
    expect((await limits.getAnomaly(a.id))?.endedAt).toEqual(at(240));

    // A later episode of the same key is a new row; the open one is the newest.
    const b = (await limits.createAnomaly(episode(at(300))))!;
    expect(b).not.toBeNull();
    expect((await limits.openAnomaly('key', 'apikey_hot'))?.id).toBe(b.id);
  });

  it('lists the episodes started in [from, to)', async () => {
    await limits.createAnomaly(episode(at(360), 'apikey_other'));
    const ids = async (from: number, to: number) =>
      (await limits.anomaliesBetween(at(from), at(to))).map(
        (a) => `${a.subjectId}@${(a.startedAt.getTime() - T0) / 60_000}`,
      );
    expect(await ids(0, 1000)).toEqual(['apikey_hot@120', 'apikey_hot@300', 'apikey_other@360']);
    expect(await ids(120, 360)).toEqual(['apikey_hot@120', 'apikey_hot@300']);
    expect(await ids(121, 361)).toEqual(['apikey_hot@300', 'apikey_other@360']);
  });
});

describe('deleting a budget', () => {
  it('removes its alert rows but keeps its enforcements', async () => {
    const { budget } = await limits.upsertBudget(input({ scope: 'key', targetId: 'apikey_del' }), at(0));
    const other = (await limits.findBudget('workspace', 'wrkspc_01'))!;
    expect(await limits.claimCrossing(budget.id, '2026-03', 50, 1n, at(1))).toBe(true);
    expect(await limits.claimCrossing(budget.id, '2026-03', 100, 2n, at(1))).toBe(true);
    expect(await limits.claimCrossing(other.id, '2026-03', 50, 1n, at(1))).toBe(true);
    const enf = (await limits.createEnforcement(budget.id, '2026-03', ['apikey_del'], at(2)))!;
    expect(enf).not.toBeNull();

    const deleted = await limits.deleteBudget('key', 'apikey_del');
    expect(deleted).toEqual(budget);
    expect(await limits.findBudget('key', 'apikey_del')).toBeNull();
    expect(await limits.alerts(budget.id)).toEqual([]);
    expect(await limits.alerts(other.id)).toHaveLength(1);
    expect(await limits.getEnforcement(enf.id)).toEqual(enf);
    expect(await limits.deleteBudget('key', 'apikey_del')).toBeNull();

    // Set again: a new budget, with a fresh id and nothing claimed.
    const again = await limits.upsertBudget(input({ scope: 'key', targetId: 'apikey_del' }), at(3));
    expect(again.created).toBe(true);
    expect(again.budget.id).not.toBe(budget.id);
    expect(await limits.claimCrossing(again.budget.id, '2026-03', 50, 1n, at(4))).toBe(true);
  });
});
