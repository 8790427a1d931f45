import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OrgUser, Workspace, WorkspaceMember } from '../../src/core/ports/admin-api.js';
import type { AuditEntryInput, DirectorySnapshot, IdentityLink, Store } from '../../src/core/ports/store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { apiKey } from '../support/directory-rows.js';

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
  store = db.store;
});
afterAll(async () => {
  await db?.drop();
});

const user = (id: string, email: string, extra: Partial<OrgUser> = {}): OrgUser => ({
  id,
  email,
  name: `Name ${id}`,
  role: 'user',
  addedAt: '2024-10-30T23:58:27.427Z',
  ...extra,
});
const workspace = (id: string, name: string): Workspace => ({
  id,
  name,
  createdAt: '2024-01-01T00:00:00.000Z',
  archivedAt: null,
  displayColor: '#6C5BB9',
});
const member = (workspaceId: string, userId: string, workspaceRole = 'workspace_user'): WorkspaceMember => ({
  workspaceId,
  userId,
  workspaceRole,
});
const key = apiKey;
const snapshot = (over: Partial<DirectorySnapshot> = {}): DirectorySnapshot => ({
  users: [user('user_1', 'Bob@Example.com'), user('user_2', 'alice@example.com', { role: 'admin' })],
  invites: [
    {
      id: 'invite_1',
      email: 'new@example.com',
      role: 'user',
      status: 'pending',
      invitedAt: '2024-06-01T00:00:00Z',
      expiresAt: null,
    },
  ],
  workspaces: [workspace('wrkspc_a', 'Alpha'), workspace('wrkspc_b', 'Beta')],
  members: [
    member('wrkspc_a', 'user_1'),
    member('wrkspc_b', 'user_1', 'workspace_admin'),
    member('wrkspc_a', 'user_2'),
  ],
  apiKeys: [key('apikey_1'), key('apikey_2', { workspaceId: null, createdBy: null, createdAt: null })],
  syncedAt: new Date('2025-01-02T03:04:05.678Z'),
  ...over,
});

describe('links', () => {
  const link: IdentityLink = {
    platform: 'slack',
    teamId: 'T1',
    userId: 'U1',
    orgUserId: 'user_1',
    email: 'Bob@Example.com',
    method: 'slack_email',
    linkedAt: new Date('2025-01-01T00:00:00.000Z'),
    refreshedAt: new Date('2025-01-01T00:00:00.000Z'),
  };

  it('upserts, finds, lists and removes', async () => {
    expect(await store.links.find('slack', 'T1', 'U1')).toBeNull();
    expect(await store.links.upsert(link)).toEqual(link);
    expect(await store.links.find('slack', 'T1', 'U1')).toEqual(link);
    // Same chat account in another team, and on Discord: distinct links.
    await store.links.upsert({ ...link, teamId: 'T2' });
    await store.links.upsert({ ...link, platform: 'discord', teamId: 'G1', userId: '1234' });

    const replaced = {
      ...link,
      orgUserId: 'user_2',
      method: 'operator',
      refreshedAt: new Date('2025-02-01T00:00:00Z'),
    };
    expect(await store.links.upsert(replaced)).toEqual(replaced);
    expect(await store.links.find('slack', 'T1', 'U1')).toEqual(replaced);

    expect((await store.links.listForOrgUser('user_1')).map((l) => `${l.platform}/${l.teamId}/${l.userId}`)).toEqual([
      'discord/G1/1234',
      'slack/T2/U1',
    ]);
    expect(await store.links.remove('slack', 'T1', 'U1')).toBe(true);
    expect(await store.links.remove('slack', 'T1', 'U1')).toBe(false);
    expect(await store.links.find('slack', 'T1', 'U1')).toBeNull();
  });

  it('survives concurrent upserts of the same account', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.links.upsert({ ...link, userId: 'URACE', orgUserId: `user_${i}` })),
    );
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('CONFLICT');
    }
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    expect((await store.links.find('slack', 'T1', 'URACE'))?.userId).toBe('URACE');
  });
});

describe('directory', () => {
  beforeEach(async () => {
    await store.directory.replace(snapshot());
  });

  it('replaces the synced copy and records the sync time', async () => {
    expect(await store.directory.lastSyncedAt()).toEqual(new Date('2025-01-02T03:04:05.678Z'));
    expect(await store.directory.listUsers()).toEqual([
      user('user_2', 'alice@example.com', { role: 'admin' }),
      user('user_1', 'Bob@Example.com'),
    ]);
    expect(await store.directory.listWorkspaces()).toEqual([
      workspace('wrkspc_a', 'Alpha'),
      workspace('wrkspc_b', 'Beta'),
    ]);
    expect(await store.directory.listApiKeys()).toEqual([
      key('apikey_1'),
      key('apikey_2', { workspaceId: null, createdBy: null, createdAt: null }),
    ]);

    await store.directory.replace(
      snapshot({
        users: [user('user_2', 'alice@example.com')],
        workspaces: [workspace('wrkspc_b', 'Beta')],
        members: [member('wrkspc_b', 'user_2')],
        apiKeys: [key('apikey_3')],
        syncedAt: new Date('2025-01-03T00:00:00.000Z'),
      }),
    );
    expect((await store.directory.listUsers()).map((u) => u.id)).toEqual(['user_2']);
    expect(await store.directory.getUser('user_1')).toBeNull();
    expect((await store.directory.listWorkspaces()).map((w) => w.id)).toEqual(['wrkspc_b']);
    expect(await store.directory.membershipsOf('user_1')).toEqual([]);
    expect(await store.directory.membershipsOf('user_2')).toEqual([member('wrkspc_b', 'user_2')]);
    expect((await store.directory.listApiKeys()).map((k) => k.id)).toEqual(['apikey_3']);
    expect(await store.directory.lastSyncedAt()).toEqual(new Date('2025-01-03T00:00:00.000Z'));
  });

  it('finds users by email case-insensitively', async () => {
    expect((await store.directory.findUserByEmail('Bob@Example.com'))?.id).toBe('user_1');
    expect((await store.directory.findUserByEmail('bob@example.com'))?.id).toBe('user_1');
    expect((await store.directory.findUserByEmail('BOB@EXAMPLE.COM'))?.id).toBe('user_1');
    expect((await store.directory.findUserByEmail('ALICE@example.com'))?.email).toBe('alice@example.com');
    expect(await store.directory.findUserByEmail('nobody@example.com')).toBeNull();
  });

  it('keeps API timestamps as ISO strings and tolerates unparseable ones', async () => {
    await store.directory.upsertUsers([user('user_3', 'c@example.com', { addedAt: 'not a date' })]);
    expect((await store.directory.getUser('user_3'))?.addedAt).toBeNull();
    expect((await store.directory.getUser('user_1'))?.addedAt).toBe('2024-10-30T23:58:27.427Z');
  });

  it('upserts subsets without deleting anything else', async () => {
    await store.directory.upsertUsers([
      user('user_1', 'robert@example.com', { role: 'developer' }),
      user('user_9', 'z@x.io'),
    ]);
    expect((await store.directory.listUsers()).map((u) => u.id).sort()).toEqual(['user_1', 'user_2', 'user_9']);
    expect(await store.directory.getUser('user_1')).toMatchObject({ email: 'robert@example.com', role: 'developer' });
    expect(await store.directory.findUserByEmail('Bob@Example.com')).toBeNull();

    await store.directory.upsertWorkspaces([workspace('wrkspc_a', 'Alpha 2'), workspace('wrkspc_c', 'Gamma')]);
    expect((await store.directory.listWorkspaces()).map((w) => w.name)).toEqual(['Alpha 2', 'Beta', 'Gamma']);

    await store.directory.upsertApiKeys([key('apikey_1', { status: 'inactive' })]);
    const keys = await store.directory.listApiKeys();
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.id === 'apikey_1')?.status).toBe('inactive');
    await store.directory.upsertUsers([]);
  });

  it('moves the change marker on every changing write, even within one millisecond', async () => {
    const marks: number[] = [];
    for (let i = 0; i < 25; i++) {
      await store.directory.upsertUsers([user('user_9', `z${i}@x.io`)]);
      marks.push((await store.directory.version()).changedAt!.getTime());
    }
    // Read models elsewhere reload when the marker differs from the one they were built from.
    for (let i = 1; i < marks.length; i++) expect(marks[i]).toBeGreaterThan(marks[i - 1]!);
    await store.directory.upsertUsers([user('user_9', 'z24@x.io')]);
    expect((await store.directory.version()).changedAt!.getTime()).toBe(marks.at(-1));
  });

  it('moves the change marker on a full sync only when it changes a row, and says which version it left', async () => {
    const before = await store.directory.version();
    const same = await store.directory.replace(snapshot({ syncedAt: new Date('2025-01-05T00:00:00.000Z') }));
    expect(same).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
    expect(same.version).toEqual(await store.directory.version());
    expect(same.version).toEqual({ syncedAt: new Date('2025-01-05T00:00:00.000Z'), changedAt: before.changedAt });

    const changed = await store.directory.replace(
      snapshot({
        apiKeys: [
          key('apikey_1', { status: 'inactive' }),
          key('apikey_2', { workspaceId: null, createdBy: null, createdAt: null }),
        ],
        syncedAt: new Date('2025-01-06T00:00:00.000Z'),
      }),
    );
    expect(changed).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    expect(changed.version).toEqual(await store.directory.version());
    expect(changed.version.changedAt!.getTime()).toBeGreaterThan(before.changedAt?.getTime() ?? 0);
  });

  it('replaces the members of one workspace', async () => {
    expect(await store.directory.membershipsOf('user_1')).toEqual([
      member('wrkspc_a', 'user_1'),
      member('wrkspc_b', 'user_1', 'workspace_admin'),
    ]);
    await store.directory.replaceWorkspaceMembers('wrkspc_a', [member('wrkspc_a', 'user_2', 'workspace_developer')]);
    expect(await store.directory.membershipsOf('user_1')).toEqual([member('wrkspc_b', 'user_1', 'workspace_admin')]);
    expect(await store.directory.membershipsOf('user_2')).toEqual([
      member('wrkspc_a', 'user_2', 'workspace_developer'),
    ]);
    await store.directory.replaceWorkspaceMembers('wrkspc_a', []);
    expect(await store.directory.membershipsOf('user_2')).toEqual([]);
  });

  it('keeps data consistent under concurrent full syncs', async () => {
    const snaps = Array.from({ length: 6 }, (_, i) =>
      snapshot({
        users: Array.from({ length: 30 }, (_, j) => user(`u${i}_${j}`, `U${i}_${j}@Example.com`)),
        workspaces: [workspace(`w${i}`, `W${i}`)],
        members: Array.from({ length: 30 }, (_, j) => member(`w${i}`, `u${i}_${j}`)),
        apiKeys: [key(`k${i}`, { workspaceId: `w${i}` })],
        syncedAt: new Date(Date.UTC(2025, 0, 10, 0, 0, i)),
      }),
    );
    await Promise.all(snaps.map((s) => store.directory.replace(s)));
    // Exactly one snapshot wins, whole: never a mix of two, never duplicates.
    const users = await store.directory.listUsers();
    expect(users).toHaveLength(30);
    const winner = users[0]!.id.split('_')[0]!.slice(1);
    expect(users.every((u) => u.id.startsWith(`u${winner}_`))).toBe(true);
    expect((await store.directory.listWorkspaces()).map((w) => w.id)).toEqual([`w${winner}`]);
    expect((await store.directory.listApiKeys()).map((k) => k.id)).toEqual([`k${winner}`]);
    expect(await store.directory.membershipsOf(`u${winner}_0`)).toEqual([member(`w${winner}`, `u${winner}_0`)]);
    expect(await store.directory.lastSyncedAt()).toEqual(new Date(Date.UTC(2025, 0, 10, 0, 0, Number(winner))));
    expect((await store.directory.findUserByEmail(`u${winner}_7@example.com`))?.id).toBe(`u${winner}_7`);
  });
});

describe('audit', () => {
  const entry = (action: string, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
    platform: 'slack',
    teamId: 'T1',
    actorId: 'U1',
    orgUserId: 'user_1',
    actorEmail: 'bob@example.com',
    action,
    options: { workspace: 'Alpha', nested: { n: 1, list: ['a'] } },
    outcome: 'allowed',
    stage: 'render',
    errorCode: null,
    message: null,
    durationMs: 12,
    ...over,
  });

  it('appends and lists newest first with a total', async () => {
    const first = await store.audit.append(entry('keys list'));
    expect(first.id).toEqual(expect.any(String));
    expect(first.at).toBeInstanceOf(Date);
    expect(first).toMatchObject(entry('keys list'));
    for (let i = 0; i < 5; i++) await store.audit.append(entry(`action ${i}`));
    await store.audit.append(
      entry('keys disable', {
        platform: 'cli',
        teamId: null,
        orgUserId: null,
        actorEmail: null,
        outcome: 'denied',
        stage: 'authorize',
        errorCode: 'FORBIDDEN',
        message: 'not an admin',
        options: {},
      }),
    );

    const page = await store.audit.list({ limit: 3 });
    expect(page.total).toBe(7);
    expect(page.entries.map((e) => e.action)).toEqual(['keys disable', 'action 4', 'action 3']);
    expect(page.entries[0]).toMatchObject({ platform: 'cli', teamId: null, errorCode: 'FORBIDDEN', options: {} });
    const next = await store.audit.list({ limit: 10, offset: 3 });
    expect(next.entries.map((e) => e.action)).toEqual(['action 2', 'action 1', 'action 0', 'keys list']);
    expect(next.entries[3]).toEqual(first);
    expect(next.total).toBe(7);
  });

  it('keeps every entry of a burst, in the order they were appended', async () => {
    const before = (await store.audit.list({ limit: 0 })).total;
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => store.audit.append(entry(`burst ${i}`))));
    expect(new Set(burst.map((e) => e.id)).size).toBe(60);
    const page = await store.audit.list({ limit: 60 });
    expect(page.total).toBe(before + 60);
    expect(page.entries.map((e) => e.action)).toEqual(Array.from({ length: 60 }, (_, i) => `burst ${59 - i}`));
  });

  it('exposes no way to change history', () => {
    // flush only writes entries already appended (group commit); nothing updates or deletes one.
    expect(Object.keys(store.audit).sort()).toEqual(['append', 'flush', 'list']);
  });
});

describe('health', () => {
  it('pings and reports no pending migrations once migrated', async () => {
    await expect(store.health.ping()).resolves.toBeUndefined();
    expect(await store.health.pendingMigrations()).toEqual([]);
  });
});
