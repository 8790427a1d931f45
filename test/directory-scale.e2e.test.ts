/**
 * The directory at the scale of a large organization (structural, not timed): a full sync asks for exactly the
 * pagination floor at limit=1000; lists answer from the synced copy without listing every key; a sync that finds
 * nothing changed writes no row, and one changed key writes that key; a member removed from the org loses access
 * at the sync, as before; a sync run elsewhere (another replica, the CLI) is seen within the check interval.
 */
import { createClient } from '@libsql/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdminApiClient } from '../src/anthropic/client.js';
import { DIRECTORY_CHECK_MS, DirectoryService } from '../src/core/directory.js';
import { visibleText } from './fakes/slack.js';
import { ADMIN_KEY, startTestApp, type TestApp, TestClock } from './support/app.js';
import { createTestDatabase, type TestDatabase, testProvider } from './support/db.js';

// Syncs of a few thousand rows each: generous limits for a busy machine (this file asserts no timings).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

const USERS = 1200;
const WORKSPACES = 20;
const KEYS = 2500;
const PAGE = 1000;

let t: TestApp;
let db: TestDatabase;
const clock = new TestClock();

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestApp({ env: { DATABASE_URL: db.url }, clock });
  const s = t.sim.state;
  const workspaces = Array.from({ length: WORKSPACES }, (_, i) => s.addWorkspace({ name: `team-${i}` }));
  const users = Array.from({ length: USERS - s.users.length }, (_, i) =>
    s.addUser({ email: `person${i}@large.example`, role: i % 4 === 0 ? 'developer' : 'user' }),
  );
  users.forEach((u, i) => {
    s.addMember(workspaces[i % WORKSPACES]!.id, u.id, i % 3 === 0 ? 'workspace_developer' : 'workspace_user');
  });
  for (let i = s.apiKeys.length; i < KEYS; i++) {
    const owner = users[i % users.length]!;
    s.addApiKey({
      name: `svc-${i}`,
      workspaceId: workspaces[i % WORKSPACES]!.id,
      createdBy: { id: owner.id, type: 'user' },
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    });
  }
}, 60_000);
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

const listPath = /^\/v1\/organizations\/(users|invites|workspaces|workspaces\/[^/]+\/members|api_keys)$/;
const pages = (n: number) => Math.max(1, Math.ceil(n / PAGE));

/** Fewest requests that can list the whole organization at limit=1000 (one per endpoint at least). */
function paginationFloor(): number {
  const s = t.sim.state;
  const listed = s.workspaces.filter((w) => !w.is_default);
  const active = listed.filter((w) => !w.archived_at);
  return (
    pages(s.users.length) +
    pages(s.invites.length) +
    pages(listed.length) +
    active.reduce((n, w) => n + pages(s.membersOf(w.id).length), 0) +
    pages(s.apiKeys.length)
  );
}

function requestsSince(from: number) {
  return t.sim.requests.slice(from).filter((r) => r.method === 'GET' && listPath.test(r.path));
}

/** `syncedAt` of every stored key, read straight from the database (not through the store). */
async function storedKeySyncTimes(): Promise<Map<string, number>> {
  const sql = 'SELECT "id", "syncedAt" FROM "ApiKey"';
  let rows: Array<{ id: unknown; syncedAt: unknown }>;
  if (testProvider() === 'postgres') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      rows = (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  } else {
    const c = createClient({ url: db.url });
    try {
      rows = (await c.execute(sql)).rows as never;
    } finally {
      c.close();
    }
  }
  return new Map(rows.map((r) => [String(r.id), toMs(r.syncedAt)]));
}

function toMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  return Date.parse(String(v));
}

function lastSyncLine(): Record<string, unknown> {
  const line = [...t.logs].reverse().find((l) => l.includes('"directory synced"'));
  if (!line) throw new Error('no "directory synced" log line');
  return JSON.parse(line);
}

const say = async (text: string, user = 'UALICE') =>
  visibleText((await t.slack.command(t.url, text, user)).reply) as string;

describe('a full sync of a large organization', () => {
  it('makes exactly the pagination floor of requests, every one at limit=1000', async () => {
    const from = t.sim.requests.length;
    await t.qm.services.directory.sync();
    const made = requestsSince(from);
    expect(made.length).toBe(paginationFloor());
    expect(new Set(made.map((r) => r.query.limit))).toEqual(new Set(['1000']));
    const line = lastSyncLine();
    expect(line).toMatchObject({ users: USERS, apiKeys: KEYS });
    expect(typeof line.httpMs).toBe('number');
    expect(typeof line.dbMs).toBe('number');
  });

  it('writes no row when nothing changed, and only the changed key when one key changed', async () => {
    await t.qm.services.directory.sync();
    const before = await storedKeySyncTimes();
    expect(before.size).toBe(KEYS);

    clock.advance(1000);
    await t.qm.services.directory.sync();
    expect(lastSyncLine()).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
    expect(await storedKeySyncTimes()).toEqual(before);

    const changed = t.sim.state.apiKeys[KEYS - 7]!;
    changed.name = `${changed.name}-renamed`;
    clock.advance(1000);
    const snapshot = await t.qm.services.directory.sync();
    expect(lastSyncLine()).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    const after = await storedKeySyncTimes();
    const rewritten = [...after].filter(([id, at]) => before.get(id) !== at).map(([id]) => id);
    expect(rewritten).toEqual([changed.id]);
    expect(after.get(changed.id)).toBe(snapshot.syncedAt.getTime());
  });
});

describe('lists on a large organization', () => {
  it('`keys list` answers from the synced directory: no key is listed from the Admin API', async () => {
    await t.qm.services.directory.sync();
    const from = t.sim.requests.length;
    const all = await say('keys list');
    expect(all).toContain(`${KEYS} API keys`);
    expect(all).toMatch(/Synced directory as of \d\d:\d\d UTC\./);
    expect(await say('keys list workspace:team-3 status:active')).toContain('API keys (workspace:team-3');
    expect(await say('members list')).toContain(`${USERS} members`);
    expect(await say('workspaces list')).toContain('team-1');
    expect(t.sim.requests.slice(from).filter((r) => r.path.startsWith('/v1/organizations/api_keys'))).toEqual([]);
    expect(requestsSince(from)).toEqual([]);
  });

  it('a command that names a key reads only that key from the Admin API', async () => {
    const key = t.sim.state.apiKeys.find((k) => k.name === 'svc-1234')!;
    const from = t.sim.requests.length;
    expect(await say('keys disable svc-1234 reason:"not used"')).toContain('Disable key svc-1234');
    const keyRequests = t.sim.requests.slice(from).filter((r) => r.path.startsWith('/v1/organizations/api_keys'));
    expect(keyRequests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v1/organizations/api_keys/${key.id}`]);
  });
});

describe('access follows the synced directory as before', () => {
  it('a member removed from the org keeps access until the sync, and loses it at the sync', async () => {
    expect(await say('whoami', 'UBOB')).toContain('bob@example.com');
    const s = t.sim.state;
    const bob = s.userByEmail('bob@example.com')!;
    s.users = s.users.filter((u) => u.id !== bob.id);
    s.members = s.members.filter((m) => m.user_id !== bob.id);
    // The synced copy is the authority until the next sync (at most the directory's max age away), as before.
    expect(await say('keys list', 'UBOB')).toContain('API keys');
    await t.qm.services.directory.sync();
    const after = await say('keys list', 'UBOB');
    expect(after).toContain('no longer a member of the Anthropic organization');
    expect(after).not.toContain('API keys');
  });

  it('a sync run by another process (the CLI, another replica) is seen within the check interval', async () => {
    const s = t.sim.state;
    const frank = s.userByEmail('frank@example.com')!;
    t.slack.addUser({ id: 'UFRANK', name: 'frank', email: 'frank@example.com' });
    expect(await say('whoami', 'UFRANK')).toContain('frank@example.com');
    frank.role = 'user';
    s.users = s.users.filter((u) => u.id !== frank.id);

    // Another process: its own Admin API client and directory service over the same database.
    const admin = createAdminApiClient({ adminKey: ADMIN_KEY, baseURL: t.sim.url });
    const elsewhere = new DirectoryService(admin, db.store, clock, t.qm.logger);
    await elsewhere.sync();

    clock.advance(DIRECTORY_CHECK_MS + 1);
    expect(await say('whoami', 'UFRANK')).toContain('no longer a member of the Anthropic organization');
  });

  it('a sync elsewhere that changes nothing counts as fresh here: lists are as of that sync', async () => {
    await t.qm.services.directory.sync();
    expect(await say('keys list')).toContain(`${KEYS} API keys`);

    clock.advance(10 * 60_000);
    const admin = createAdminApiClient({ adminKey: ADMIN_KEY, baseURL: t.sim.url });
    const elsewhere = new DirectoryService(admin, db.store, clock, t.qm.logger);
    const { syncedAt } = await elsewhere.sync();
    expect(lastSyncLine()).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });

    clock.advance(DIRECTORY_CHECK_MS + 1);
    const from = t.sim.requests.length;
    const list = await say('keys list');
    expect(list).toContain(`${KEYS} API keys`);
    expect(list).toContain(`Synced directory as of ${syncedAt.toISOString().slice(11, 16)} UTC.`);
    // The copy is fresh: not synced again here.
    expect(requestsSince(from)).toEqual([]);
  });
});
