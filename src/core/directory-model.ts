/**
 * The synced copy of the organization held in memory (see DirectoryService): users by id and by lower-cased
 * email, memberships by user and by workspace, workspaces, keys. Built from what the store holds and kept in
 * step with every write this process makes; plain data, no I/O.
 */
import type { ApiKey, OrgUser, Workspace, WorkspaceMember } from './ports/admin-api.js';
import type { DirectoryData, DirectoryVersion } from './ports/store.js';
import { ITEMS_PER_TURN, nextTurn } from './turn.js';

const lower = (email: string) => email.trim().toLowerCase();
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a: { id: string }, b: { id: string }) => cmp(a.id, b.id);
/** ISO timestamps compare as strings; plain comparisons, as localeCompare is slow over 10,000 keys. */
const newestFirst = (a: ApiKey, b: ApiKey) =>
  (a.createdAt === null ? 1 : 0) - (b.createdAt === null ? 1 : 0) ||
  cmp(b.createdAt ?? '', a.createdAt ?? '') ||
  byId(a, b);

export class DirectoryModel {
  private readonly users = new Map<string, OrgUser>();
  private readonly emails = new Map<string, OrgUser>();
  private readonly workspaceMap = new Map<string, Workspace>();
  /** userId → workspaceId → membership. */
  private readonly memberships = new Map<string, Map<string, WorkspaceMember>>();
  private readonly keys = new Map<string, ApiKey>();
  private sortedKeys: ApiKey[] | null = null;
  private sortedUsers: OrgUser[] | null = null;

  constructor(
    data: Omit<DirectoryData, 'version'>,
    /** The stored version this copy was built from (see DirectoryVersion). */
    public version: DirectoryVersion,
  ) {
    this.putUsers(data.users);
    this.putWorkspaces(data.workspaces);
    for (const m of data.members) this.putMember(m);
    this.putApiKeys(data.apiKeys);
  }

  /**
   * The same model, built a slice at a time with a turn of the event loop between slices (a large organization's
   * indexes and sorted views take tens of milliseconds at once). The views the list commands read are sorted
   * here too, so the first command after a sync or a reload does not pay for it.
   */
  static async build(data: Omit<DirectoryData, 'version'>, version: DirectoryVersion): Promise<DirectoryModel> {
    const model = new DirectoryModel({ users: [], workspaces: [], members: [], apiKeys: [] }, version);
    const sliced = async <T>(items: readonly T[], put: (slice: readonly T[]) => void) => {
      for (let i = 0; i < items.length; i += ITEMS_PER_TURN) {
        put(items.slice(i, i + ITEMS_PER_TURN));
        await nextTurn();
      }
    };
    await sliced(data.users, (s) => model.putUsers(s));
    model.putWorkspaces(data.workspaces);
    await sliced(data.members, (s) => {
      for (const m of s) model.putMember(m);
    });
    await sliced(data.apiKeys, (s) => model.putApiKeys(s));
    model.listUsers();
    await nextTurn();
    model.listApiKeys();
    return model;
  }

  /** When the copy was last fully synced with the Admin API (null: never). */
  get syncedAt(): Date | null {
    return this.version.syncedAt;
  }

  user(id: string): OrgUser | null {
    return this.users.get(id) ?? null;
  }

  /** Case-insensitive; with duplicates (the API should not have them) the lowest id wins, as in the store. */
  userByEmail(email: string): OrgUser | null {
    return this.emails.get(lower(email)) ?? null;
  }

  /** Every member, by email then id; sorted once per change, not per call. */
  listUsers(): readonly OrgUser[] {
    // Each lower-cased email once, then plain comparisons (localeCompare over 2,000 members held the event loop).
    this.sortedUsers ??= [...this.users.values()]
      .map((u) => ({ u, key: lower(u.email) }))
      .sort((a, b) => cmp(a.key, b.key) || byId(a.u, b.u))
      .map((x) => x.u);
    return this.sortedUsers;
  }

  membershipsOf(userId: string): WorkspaceMember[] {
    return [...(this.memberships.get(userId)?.values() ?? [])].sort((a, b) =>
      a.workspaceId < b.workspaceId ? -1 : a.workspaceId > b.workspaceId ? 1 : 0,
    );
  }

  /** How many members each workspace has. */
  memberCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const byWorkspace of this.memberships.values()) {
      for (const w of byWorkspace.keys()) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    return counts;
  }

  /** Every workspace the sync saw, archived ones included, by name then id. */
  listWorkspaces(): Workspace[] {
    return [...this.workspaceMap.values()].sort((a, b) => a.name.localeCompare(b.name) || byId(a, b));
  }

  workspace(id: string): Workspace | null {
    return this.workspaceMap.get(id) ?? null;
  }

  apiKey(id: string): ApiKey | null {
    return this.keys.get(id) ?? null;
  }

  /** Every key, newest first (no creation date last); sorted once per change, not per call. */
  listApiKeys(): readonly ApiKey[] {
    this.sortedKeys ??= [...this.keys.values()].sort(newestFirst);
    return this.sortedKeys;
  }

  get apiKeyCount(): number {
    return this.keys.size;
  }

  putUsers(users: readonly OrgUser[]): void {
    this.sortedUsers = null;
    for (const u of users) {
      const old = this.users.get(u.id);
      if (old && this.emails.get(lower(old.email))?.id === u.id) this.emails.delete(lower(old.email));
      this.users.set(u.id, u);
      const holder = this.emails.get(lower(u.email));
      if (!holder || holder.id >= u.id) this.emails.set(lower(u.email), u);
    }
  }

  putWorkspaces(workspaces: readonly Workspace[]): void {
    for (const w of workspaces) this.workspaceMap.set(w.id, w);
  }

  putApiKeys(keys: readonly ApiKey[]): void {
    for (const k of keys) this.keys.set(k.id, k);
    this.sortedKeys = null;
  }

  /** The workspace's members are exactly these (as replaceWorkspaceMembers stores them). */
  replaceWorkspaceMembers(workspaceId: string, members: readonly WorkspaceMember[]): void {
    for (const byWorkspace of this.memberships.values()) byWorkspace.delete(workspaceId);
    for (const m of members) this.putMember({ ...m, workspaceId });
  }

  private putMember(m: WorkspaceMember): void {
    let byWorkspace = this.memberships.get(m.userId);
    if (!byWorkspace) {
      byWorkspace = new Map();
      this.memberships.set(m.userId, byWorkspace);
    }
    byWorkspace.set(m.workspaceId, m);
  }
}
