/**
 * The leaks store (src/store/leaks-store.ts) on the test database: one incident per fingerprint under concurrent
 * sightings (exactly one `created`), a known sourceKey is a duplicate that changes nothing, conditional
 * transitions go to one caller, the server secret is made once, a webhook delivery is first once. Run with
 * DB_PROVIDER=sqlite and DB_PROVIDER=postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeakIncidentInput, LeakSighting, LeaksStore } from '../../src/core/ports/leaks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { big, querySql } from '../support/sql.js';

let db: TestDatabase;
let leaks: LeaksStore;
beforeAll(async () => {
  db = await createTestDatabase();
  leaks = db.store.leaks;
});
afterAll(async () => {
  await db?.drop();
});

const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const N = 8;
const all = <T>(f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: N }, (_, i) => f(i)));

const incident = (fingerprint: string, over: Partial<LeakIncidentInput> = {}): LeakIncidentInput => ({
  fingerprint,
  hint: 'sk-ant-api03-R2D...igAA',
  kind: 'anthropic_api_key',
  apiKeyId: 'apikey_01',
  apiKeyName: 'prod',
  workspaceId: 'wrkspc_01',
  ...over,
});
const sighting = (sourceKey: string, seenAt: Date, over: Partial<LeakSighting> = {}) => ({
  source: 'slack' as const,
  sourceKey,
  location: '<#C0123>',
  url: 'https://example.slack.com/archives/C0123/p1',
  actor: 'slack:U0123',
  seenAt,
  ...over,
});

async function count(table: string, where = ''): Promise<number> {
  const [r] = await querySql(db.url, `SELECT COUNT(*) AS n FROM "${table}" ${where}`);
  return Number(big(r!.n));
}

describe('server secret', () => {
  it('is made once across concurrent callers (32 random bytes, base64url) and read back after', async () => {
    const values = await all(() => leaks.serverSecret('leak-fingerprint'));
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(values[0]!, 'base64url')).toHaveLength(32);
    expect(await count('ServerSecret')).toBe(1);
    const other = await leaks.serverSecret('another');
    expect(other).not.toBe(values[0]);
    // A second store on the same database (another replica) reads the same value.
    const { openStore } = await import('../../src/store/index.js');
    const replica = await openStore(db.url);
    try {
      expect(await replica.leaks.serverSecret('leak-fingerprint')).toBe(values[0]);
    } finally {
      await replica.close();
    }
  });
});

describe('sightings', () => {
  it(`ends ${N} concurrent sightings of one new fingerprint with one incident, exactly one created`, async () => {
    const results = await all((i) => leaks.recordSighting(incident('fp-1'), sighting(`slack:T:C:${i}`, at(i))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.filter((r) => r.duplicate)).toHaveLength(0);
    const ids = new Set(results.map((r) => r.incident.id));
    expect(ids.size).toBe(1);
    const id = [...ids][0]!;
    expect(id).toMatch(/^[0-9A-Z]{8}$/);
    expect(await count('LeakIncident')).toBe(1);
    expect(await count('LeakSighting')).toBe(N);
    const got = await leaks.get(id);
    expect(got).toMatchObject({
      id,
      fingerprint: 'fp-1',
      hint: 'sk-ant-api03-R2D...igAA',
      kind: 'anthropic_api_key',
      apiKeyId: 'apikey_01',
      apiKeyName: 'prod',
      workspaceId: 'wrkspc_01',
      status: 'open',
      autoDeactivated: false,
      sightingCount: N,
      lastSeenAt: at(N - 1),
      closedAt: null,
      card: null,
    });
    expect(got!.firstSeenAt.getTime()).toBeLessThan(at(N).getTime());
    expect(await leaks.get(id.toLowerCase())).toEqual(got);
    expect(await leaks.findByFingerprint('fp-1')).toEqual(got);
    expect((await leaks.sightings(id)).map((s) => s.sourceKey).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `slack:T:C:${i}`).sort(),
    );
  });

  it('treats a known sourceKey as a duplicate that changes nothing, even when sent concurrently', async () => {
    const first = await leaks.recordSighting(incident('fp-2'), sighting('github:alert/1', at(100)));
    expect(first).toMatchObject({ created: true, duplicate: false });
    const before = await leaks.get(first.incident.id);
    const again = await all(() =>
      leaks.recordSighting(incident('fp-2'), sighting('github:alert/1', at(200), { location: 'elsewhere' })),
    );
    expect(again.every((r) => r.duplicate && !r.created && r.incident.id === first.incident.id)).toBe(true);
    expect(await leaks.get(first.incident.id)).toEqual(before);
    expect(await leaks.sightings(first.incident.id)).toEqual([
      { ...sighting('github:alert/1', at(100)), incidentId: first.incident.id },
    ]);

    // A new fingerprint sent concurrently under one sourceKey: one incident, one created, the rest duplicates.
    const racing = await all(() => leaks.recordSighting(incident('fp-3'), sighting('gitleaks:a.txt:3', at(300))));
    expect(racing.filter((r) => r.created)).toHaveLength(1);
    expect(racing.filter((r) => r.duplicate)).toHaveLength(N - 1);
    expect((await leaks.findByFingerprint('fp-3'))?.sightingCount).toBe(1);
  });

  it('keeps lastSeenAt the latest when an older sighting arrives late; lists newest first', async () => {
    const a = await leaks.recordSighting(
      incident('fp-4', { apiKeyId: null, apiKeyName: null }),
      sighting('k4a', at(500)),
    );
    const b = await leaks.recordSighting(incident('fp-4'), sighting('k4b', at(400)));
    expect(b).toMatchObject({ created: false, duplicate: false });
    // The incident keeps what it was opened with.
    expect(b.incident).toMatchObject({ id: a.incident.id, apiKeyId: null, sightingCount: 2, lastSeenAt: at(500) });
    const { incidents, total } = await leaks.list({ limit: 2 });
    expect(total).toBe(4);
    expect(incidents.map((i) => i.fingerprint)).toEqual(['fp-4', 'fp-3']);
    const page2 = await leaks.list({ limit: 10, offset: 2 });
    expect(page2.incidents.map((i) => i.fingerprint)).toEqual(['fp-2', 'fp-1']);
    expect((await leaks.firstSeenBetween(at(100), at(500))).map((i) => i.fingerprint)).toEqual(['fp-2', 'fp-3']);
    expect(await leaks.firstSeenBetween(at(501), at(600))).toEqual([]);
  });
});

describe('transitions and cards', () => {
  it('gives a transition to exactly one of concurrent callers, records who and why, and filters open', async () => {
    const { incident: inc } = await leaks.recordSighting(incident('fp-5'), sighting('k5', at(700)));
    const results = await all((i) =>
      leaks.transition(inc.id, ['open'], 'deactivated', { at: at(701), by: `user_${i}`, reason: 'leaked' }),
    );
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ status: 'deactivated', closedAt: at(701), closeReason: 'leaked' });
    expect(winners[0]!.closedBy).toMatch(/^user_\d$/);
    expect(await leaks.transition(inc.id, ['open'], 'false_positive', { at: at(702), by: 'x' })).toBeNull();
    const auto = await leaks.transition(inc.id, ['deactivated'], 'archived', {
      at: at(703),
      by: 'policy',
      autoDeactivated: true,
    });
    expect(auto).toMatchObject({ status: 'archived', closedBy: 'policy', closeReason: null, autoDeactivated: true });
    const open = await leaks.list({ open: true, limit: 50 });
    expect(open.incidents.map((i) => i.id)).not.toContain(inc.id);
    expect(open.total).toBe(4);
    // Back to open clears the closing fields.
    const reopened = await leaks.transition(inc.id, ['archived'], 'open', { at: at(704), by: 'y' });
    expect(reopened).toMatchObject({ status: 'open', closedAt: null, closedBy: null, closeReason: null });

    await leaks.setCard(inc.id, { platform: 'discord', teamId: 'G1', channelId: 'C1', messageId: 'M1' });
    expect((await leaks.get(inc.id))?.card).toEqual({
      platform: 'discord',
      teamId: 'G1',
      channelId: 'C1',
      messageId: 'M1',
    });
  });

  it('marks a webhook delivery first exactly once', async () => {
    const results = await all(() => leaks.firstDelivery('github:abc', at(800)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await leaks.firstDelivery('github:abc', at(801))).toBe(false);
    expect(await leaks.firstDelivery('github:def', at(801))).toBe(true);
  });
});
