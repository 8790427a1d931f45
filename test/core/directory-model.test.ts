/**
 * The directory's read model of a large organization: built a slice at a time (the event loop gets turns meanwhile,
 * counted by order, not timed), it answers exactly as one built at once; its sorted lists follow later writes.
 */
import { describe, expect, it } from 'vitest';
import { DirectoryModel } from '../../src/core/directory-model.js';
import type { ApiKey, OrgUser, Workspace, WorkspaceMember } from '../../src/core/ports/admin-api.js';

const version = { syncedAt: new Date('2026-01-01T00:00:00Z'), changedAt: null };

function largeOrganization(users = 3000, workspaces = 40, keys = 12_000) {
  const ws: Workspace[] = Array.from({ length: workspaces }, (_, i) => ({
    id: `wrkspc_${String(i).padStart(3, '0')}`,
    name: `Team ${i % 7} ${i}`,
    createdAt: '2025-01-01T00:00:00Z',
    archivedAt: i % 13 === 0 ? '2025-06-01T00:00:00Z' : null,
    displayColor: null,
  }));
  const us: OrgUser[] = Array.from({ length: users }, (_, i) => ({
    id: `user_${String((i * 7919) % users).padStart(5, '0')}`,
    // Mixed case, and a few addresses shared by two ids (the lowest id wins a lookup by email).
    email: `${i % 3 === 0 ? 'Member' : 'member'}.${i % 997 === 5 ? 5 : i}@example.com`,
    name: `Member ${i}`,
    role: i % 10 === 0 ? 'admin' : 'developer',
    addedAt: null,
  }));
  const members: WorkspaceMember[] = us.flatMap((u, i) =>
    [0, 1, 2].map((k) => ({
      userId: u.id,
      workspaceId: ws[(i + k * 11) % workspaces]!.id,
      workspaceRole: k === 0 ? 'workspace_developer' : 'workspace_user',
    })),
  );
  const apiKeys: ApiKey[] = Array.from({ length: keys }, (_, i) => ({
    id: `apikey_${String((i * 104_729) % keys).padStart(6, '0')}`,
    name: `key-${i}`,
    status: i % 5 === 0 ? 'inactive' : 'active',
    partialKeyHint: null,
    workspaceId: i % 9 === 0 ? null : ws[i % workspaces]!.id,
    createdAt: i % 17 === 0 ? null : new Date(Date.UTC(2025, 0, 1) + (i % 500) * 86_400_000).toISOString(),
    createdBy: { id: us[i % users]!.id, type: 'user' },
    expiresAt: null,
  }));
  return { users: us, workspaces: ws, members, apiKeys };
}

describe('DirectoryModel.build', () => {
  it('answers exactly as a model built at once', async () => {
    const data = largeOrganization();
    const once = new DirectoryModel(data, version);
    const sliced = await DirectoryModel.build(data, version);
    expect(sliced.listApiKeys().map((k) => k.id)).toEqual(once.listApiKeys().map((k) => k.id));
    expect(sliced.listUsers().map((u) => u.id)).toEqual(once.listUsers().map((u) => u.id));
    expect(sliced.listWorkspaces()).toEqual(once.listWorkspaces());
    expect(sliced.memberCounts()).toEqual(once.memberCounts());
    for (const u of data.users.slice(0, 200)) {
      expect(sliced.membershipsOf(u.id)).toEqual(once.membershipsOf(u.id));
      expect(sliced.userByEmail(u.email.toUpperCase())).toEqual(once.userByEmail(u.email));
    }
    expect(sliced.apiKeyCount).toBe(data.apiKeys.length);
    expect(sliced.version).toBe(version);
  });

  it('gives the event loop turns while it builds a large organization', async () => {
    const data = largeOrganization();
    const order: string[] = [];
    // Queued when the build starts: a build that never yielded would finish first.
    setImmediate(() => order.push('other work'));
    await DirectoryModel.build(data, version).then(() => order.push('built'));
    expect(order).toEqual(['other work', 'built']);
  });

  it('keeps its sorted lists in step with later writes', async () => {
    const data = largeOrganization(50, 3, 100);
    const model = await DirectoryModel.build(data, version);
    expect(model.listUsers()[0]?.email).not.toBe('aaron@example.com');
    model.putUsers([{ id: 'user_new', email: 'Aaron@example.com', name: 'Aaron', role: 'user', addedAt: null }]);
    expect(model.listUsers()[0]?.id).toBe('user_new');
    expect(model.listUsers()).toHaveLength(51);
    model.putApiKeys([
      {
        id: 'apikey_new',
        name: 'newest',
        status: 'active',
        partialKeyHint: null,
        workspaceId: null,
        createdAt: '2030-01-01T00:00:00Z',
        createdBy: null,
        expiresAt: null,
      },
    ]);
    expect(model.listApiKeys()[0]?.id).toBe('apikey_new');
  });
});
