/**
 * The link-request limits hold when attempts arrive at once (two replicas, or one impatient user): the rate limit
 * counts at most `limit` of any number of concurrent attempts, one requester has one pending request whatever the
 * server they ask from, and neither the per-team nor the per-platform cap on pending requests is overshot.
 * Run with DB_PROVIDER=sqlite and DB_PROVIDER=postgres.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LINK_ATTEMPTS_LIMIT, LINK_ATTEMPTS_WINDOW_MS, requesterKey } from '../../src/core/identity/link-requests.js';
import type { Store } from '../../src/core/ports/store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let store: Store;
beforeAll(async () => {
  db = await createTestDatabase();
  store = db.store;
});
afterAll(async () => {
  await db?.drop();
});

const staleBefore = new Date(Date.now() - 86_400_000);
const file = (teamId: string, userId: string, limits: { team: number; platform: number }, platform = 'discord') =>
  store.linkRequests.create(
    {
      platform: platform as 'discord' | 'slack',
      teamId,
      userId,
      email: `${userId}@example.com`,
      orgUserId: null,
      requesterKey: requesterKey(platform as 'discord' | 'slack', teamId, userId),
    },
    { staleBefore, maxPendingPerTeam: limits.team, maxPendingPerPlatform: limits.platform },
  );

it(`counts at most ${LINK_ATTEMPTS_LIMIT} of 20 concurrent attempts, and refuses the next one until the window moves`, async () => {
  const now = new Date('2026-01-01T10:00:00Z');
  const key = 'link:discord:1500000000000000001';
  const results = await Promise.all(
    Array.from({ length: 20 }, () => store.rateLimits.hit(key, LINK_ATTEMPTS_LIMIT, LINK_ATTEMPTS_WINDOW_MS, now)),
  );
  expect(results.filter((r) => r.allowed)).toHaveLength(LINK_ATTEMPTS_LIMIT);
  const later = new Date(now.getTime() + 30 * 60_000);
  expect(await store.rateLimits.hit(key, LINK_ATTEMPTS_LIMIT, LINK_ATTEMPTS_WINDOW_MS, later)).toEqual({
    allowed: false,
    retryAt: new Date(now.getTime() + LINK_ATTEMPTS_WINDOW_MS),
  });
  const nextHour = new Date(now.getTime() + LINK_ATTEMPTS_WINDOW_MS + 1);
  const again = await Promise.all(
    Array.from({ length: 20 }, () => store.rateLimits.hit(key, LINK_ATTEMPTS_LIMIT, LINK_ATTEMPTS_WINDOW_MS, nextHour)),
  );
  expect(again.filter((r) => r.allowed)).toHaveLength(LINK_ATTEMPTS_LIMIT);
});

it('files one request for a Discord user asking from 20 servers at once', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      file(`14000000000000010${10 + i}`, '1500000000000000002', { team: 20, platform: 50 }),
    ),
  );
  expect(results.filter((r) => 'filed' in r)).toHaveLength(1);
  expect(results.filter((r) => 'refused' in r && r.refused === 'requester_pending')).toHaveLength(19);
  const again = await file('1400000000000000999', '1500000000000000002', { team: 20, platform: 50 });
  expect(again).toMatchObject({ refused: 'requester_pending', pending: { userId: '1500000000000000002' } });
});

it('keeps Slack requests apart per workspace, but an Enterprise Grid user id across workspaces', async () => {
  expect('filed' in (await file('T0ONE', 'U0SAME', { team: 20, platform: 50 }, 'slack'))).toBe(true);
  expect('filed' in (await file('T0TWO', 'U0SAME', { team: 20, platform: 50 }, 'slack'))).toBe(true);
  expect('filed' in (await file('T0ONE', 'W0GRID', { team: 20, platform: 50 }, 'slack'))).toBe(true);
  expect(await file('T0TWO', 'W0GRID', { team: 20, platform: 50 }, 'slack')).toMatchObject({
    refused: 'requester_pending',
  });
});

it('does not overshoot the per-server cap when 30 users ask at once', async () => {
  const team = '1400000000000000200';
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => file(team, `15000000000000003${10 + i}`, { team: 20, platform: 1000 })),
  );
  const filed = results.filter((r) => 'filed' in r).length;
  expect(filed).toBeGreaterThan(0);
  expect(filed).toBeLessThanOrEqual(20);
  expect(results.filter((r) => 'refused' in r && r.refused !== 'team_full')).toEqual([]);
  // A refused request leaves nothing pending: filing one by one fills the server up to exactly its cap.
  let total = filed;
  for (let i = 0; ; i++) {
    const r = await file(team, `15000000000000004${10 + i}`, { team: 20, platform: 1000 });
    if ('refused' in r) {
      expect(r).toEqual({ refused: 'team_full' });
      break;
    }
    total++;
  }
  expect(total).toBe(20);
});

it('does not overshoot the per-platform cap when 60 users ask at once from as many servers', async () => {
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      file(`14000000000000030${10 + i}`, `15000000000000005${10 + i}`, { team: 20, platform: 50 }, 'discord'),
    ),
  );
  const pendingBefore = 1 + 20; // the earlier tests' Discord requests still pending (one, and the full server)
  const filed = results.filter((r) => 'filed' in r).length;
  expect(filed).toBeGreaterThan(0);
  expect(filed + pendingBefore).toBeLessThanOrEqual(50);
  expect(results.filter((r) => 'refused' in r && r.refused !== 'platform_full')).toEqual([]);
  let total = filed + pendingBefore;
  for (let i = 0; ; i++) {
    const r = await file(`14000000000000060${10 + i}`, `15000000000000006${10 + i}`, { team: 20, platform: 50 });
    if ('refused' in r) {
      expect(r).toEqual({ refused: 'platform_full' });
      break;
    }
    total++;
  }
  expect(total).toBe(50);
});
