/**
 * Keeps the database's copy of the organization (users, invites, workspaces, memberships, keys) in step
 * with the Admin API, and a read model of it in memory. Permissions are computed from this copy, so it is
 * refreshed when older than `maxAgeMs`; concurrent callers share one sync.
 *
 * The read model (DirectoryModel) is what identity resolution and the list commands read, so a command costs
 * no directory queries. It is reused while the store's version (its last full sync, its last changed row) is
 * the one it was built from; that version is re-read at most every `checkMs`, so a sync or a change made by
 * another replica or by the CLI (`npx quartermaster jobs run directory.sync`) is seen within seconds. A sync
 * elsewhere that changed no row only makes it fresher (no reload). Writes made here (a live role check, a key
 * change, a workspace's members re-read) update it in place at once. Building it from a large organization
 * gives the event loop turns (DirectoryModel.build).
 *
 * Freshness: a copy older than `maxAgeMs` is re-checked against the store at once (another replica may have
 * synced it) and, when still old, synced before any permission is computed from it (`ensureFresh`, as before).
 * Lists may instead serve an old copy while a sync runs in the background (`forList`), except when there has
 * never been one.
 */
import { DirectoryModel } from './directory-model.js';
import type { AdminApi, ApiKey, OrgUser, Workspace, WorkspaceMember } from './ports/admin-api.js';
import type { Clock, Logger } from './ports/runtime.js';
import type { DirectorySnapshot, DirectoryVersion, Store } from './ports/store.js';

/** How often the store's version is re-read (so another replica's sync is seen within this). */
export const DIRECTORY_CHECK_MS = 2_000;

/**
 * Workspaces whose members are listed at once during a sync. Starting a request costs the event loop about half a
 * millisecond (the SDK, fetch), so starting one per workspace of a 100-workspace organization at once held it for
 * 50–70 ms; a few at a time keep the listing as fast against one API host.
 */
const MEMBER_LISTS_AT_ONCE = 8;

/** `fn` over `items`, at most `limit` running at once; results in the order of `items`. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        next = items.length; // the others start nothing more
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const sameVersion = (a: DirectoryVersion, b: DirectoryVersion) =>
  a.syncedAt?.getTime() === b.syncedAt?.getTime() && a.changedAt?.getTime() === b.changedAt?.getTime();
/** No row changed between the two (see DirectoryVersion); a copy never synced is never taken as equal. */
const sameRows = (a: DirectoryVersion, b: DirectoryVersion) =>
  a.syncedAt !== null && b.syncedAt !== null && a.changedAt?.getTime() === b.changedAt?.getTime();

export class DirectoryService {
  private inFlight: Promise<DirectorySnapshot> | null = null;
  private model: DirectoryModel | null = null;
  private loading: Promise<DirectoryModel> | null = null;
  private checking: Promise<DirectoryModel> | null = null;
  /** Clock time (ms) of the last version check. */
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** Bumped whenever this process's own sync replaces the model, so a reload started earlier does not undo it. */
  private generation = 0;

  constructor(
    private readonly admin: AdminApi,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly maxAgeMs = 5 * 60_000,
    readonly checkMs = DIRECTORY_CHECK_MS,
  ) {}

  /** Pull everything from the Admin API and replace the stored copy. */
  sync(): Promise<DirectorySnapshot> {
    this.inFlight ??= this.pull().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Sync only when the stored copy is missing or older than maxAgeMs. */
  async ensureFresh(): Promise<void> {
    await this.read();
  }

  /** The read model, synced first when missing or older than maxAgeMs (what permission checks go by). */
  async read(): Promise<DirectoryModel> {
    let model = await this.current();
    if (this.isStale(model)) {
      // Another replica (or the CLI) may have synced it since the last check.
      model = await this.current(true);
      if (this.isStale(model)) {
        await this.sync();
        model = await this.current();
      }
    }
    return model;
  }

  /**
   * The read model for a list: an old copy is served while a sync runs in the background (stale while
   * revalidate); only a directory that was never synced is waited for.
   */
  async forList(): Promise<DirectoryModel> {
    const model = await this.current();
    if (!model.syncedAt) return this.read();
    if (this.isStale(model)) {
      this.sync().catch((err) => this.logger.warn({ err }, 'background directory sync failed'));
    }
    return model;
  }

  // ---- writes that keep the store and the read model in step (a targeted refresh after a change) ----

  async upsertUsers(users: OrgUser[]): Promise<void> {
    await this.store.directory.upsertUsers(users);
    this.model?.putUsers(users);
  }

  async upsertWorkspaces(workspaces: Workspace[]): Promise<void> {
    await this.store.directory.upsertWorkspaces(workspaces);
    this.model?.putWorkspaces(workspaces);
  }

  async upsertApiKeys(keys: ApiKey[]): Promise<void> {
    await this.store.directory.upsertApiKeys(keys);
    this.model?.putApiKeys(keys);
  }

  async replaceWorkspaceMembers(workspaceId: string, members: WorkspaceMember[]): Promise<void> {
    await this.store.directory.replaceWorkspaceMembers(workspaceId, members);
    this.model?.replaceWorkspaceMembers(workspaceId, members);
  }

  /** One key read live (GET) into the store and the read model; null when the API has no such key. */
  async refreshApiKey(keyId: string): Promise<ApiKey | null> {
    let key: ApiKey;
    try {
      key = await this.admin.getApiKey(keyId);
    } catch (err) {
      if ((err as { kind?: unknown }).kind === 'not_found') return null;
      throw err;
    }
    await this.upsertApiKeys([key]);
    return key;
  }

  private isStale(model: DirectoryModel): boolean {
    const last = model.syncedAt;
    return !last || this.clock.now().getTime() - last.getTime() > this.maxAgeMs;
  }

  /** The read model, reloaded when the store's version moved (checked at most every checkMs unless `force`). */
  private current(force = false): Promise<DirectoryModel> {
    if (this.model && !force && this.clock.now().getTime() - this.checkedAt < this.checkMs) {
      return Promise.resolve(this.model);
    }
    // Commands arriving while a check runs share it: one version query, not one per command.
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<DirectoryModel> {
    const model = this.model;
    if (model) {
      const version = await this.store.directory.version();
      this.checkedAt = this.clock.now().getTime();
      if (this.model !== model) return this.model ?? this.reload();
      if (sameVersion(version, model.version)) return model;
      if (sameRows(version, model.version)) {
        // A full sync elsewhere found nothing to change: the same rows, synced later.
        model.version = version;
        return model;
      }
    }
    return this.reload();
  }

  private reload(): Promise<DirectoryModel> {
    this.loading ??= (async () => {
      try {
        const started = this.clock.now().getTime();
        const generation = this.generation;
        const data = await this.store.directory.load();
        if (generation !== this.generation && this.model) return this.model;
        const model = await DirectoryModel.build(data, data.version);
        if (generation !== this.generation && this.model) return this.model;
        this.model = model;
        this.checkedAt = started;
        return this.model;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async pull(): Promise<DirectorySnapshot> {
    const started = performance.now();
    // Users decide who may do what, so without them there is no sync. The other parts are best effort:
    // an API that lacks one of them (or fails on it now) leaves the stored copy of that part as it was.
    const [users, invites, workspaces, apiKeys] = await Promise.all([
      this.admin.listUsers(),
      this.optional('invites', () => this.admin.listInvites()),
      this.optional('workspaces', () => this.admin.listWorkspaces({ includeArchived: true })),
      this.optional('api keys', () => this.admin.listApiKeys()),
    ]);
    const active = (workspaces ?? []).filter((w) => !w.archivedAt);
    const members = workspaces
      ? await this.optional('workspace members', async () =>
          (await mapLimited(active, MEMBER_LISTS_AT_ONCE, (w) => this.admin.listWorkspaceMembers(w.id))).flat(),
        )
      : null;
    const fetched = performance.now();
    const snapshot: DirectorySnapshot = { users, invites, workspaces, members, apiKeys, syncedAt: this.clock.now() };
    const written = await this.store.directory.replace(snapshot);
    const stored = performance.now();
    await this.adopt(snapshot, written.version);
    this.logger.info(
      {
        users: users.length,
        // Counted as `/qm workspaces list` shows them: active ones, archived ones apart.
        workspaces: workspaces ? active.length : 'kept',
        archivedWorkspaces: workspaces ? workspaces.length - active.length : 'kept',
        members: members?.length ?? 'kept',
        apiKeys: apiKeys?.length ?? 'kept',
        invites: invites?.length ?? 'kept',
        // Rows the diff wrote (an unchanged organization writes none).
        inserted: written.inserted,
        updated: written.updated,
        deleted: written.deleted,
        httpMs: Math.round(fetched - started),
        dbMs: Math.round(stored - fetched),
        ms: Math.round(stored - started),
      },
      'directory synced',
    );
    return snapshot;
  }

  /**
   * The read model after this process's own sync: built from the snapshot when it has every part. A part kept
   * as stored (it could not be fetched) is read back from the store instead, on next use.
   */
  private async adopt(s: DirectorySnapshot, version: DirectoryVersion): Promise<void> {
    if (s.workspaces && s.members && s.apiKeys) {
      // The version the sync left (the stored rows are the snapshot's then); a later write moves it and the next
      // check reloads.
      const model = await DirectoryModel.build(
        { users: s.users, workspaces: s.workspaces, members: s.members, apiKeys: s.apiKeys },
        version,
      );
      this.model = model;
      this.checkedAt = this.clock.now().getTime();
    } else {
      this.model = null;
    }
    this.generation++;
  }

  private async optional<T>(what: string, fetch: () => Promise<T>): Promise<T | null> {
    try {
      return await fetch();
    } catch (err) {
      this.logger.warn({ err, part: what }, 'directory sync: could not fetch this part; keeping the stored copy');
      return null;
    }
  }
}
