/**
 * Keeps the database's copy of the organization (users, invites, workspaces, memberships, keys) in step
 * with the Admin API. Permissions are computed from this copy, so it is refreshed when older than
 * `maxAgeMs`; concurrent callers share one sync.
 */
import type { AdminApi } from './ports/admin-api.js';
import type { Clock, Logger } from './ports/runtime.js';
import type { DirectorySnapshot, Store } from './ports/store.js';

export class DirectoryService {
  private inFlight: Promise<DirectorySnapshot> | null = null;

  constructor(
    private readonly admin: AdminApi,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly maxAgeMs = 5 * 60_000,
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
    const last = await this.store.directory.lastSyncedAt();
    if (!last || this.clock.now().getTime() - last.getTime() > this.maxAgeMs) await this.sync();
  }

  private async pull(): Promise<DirectorySnapshot> {
    const started = Date.now();
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
          (await Promise.all(active.map((w) => this.admin.listWorkspaceMembers(w.id)))).flat(),
        )
      : null;
    const snapshot: DirectorySnapshot = { users, invites, workspaces, members, apiKeys, syncedAt: this.clock.now() };
    await this.store.directory.replace(snapshot);
    this.logger.info(
      {
        users: users.length,
        // Counted as `/qm workspaces list` shows them: active ones, archived ones apart.
        workspaces: workspaces ? active.length : 'kept',
        archivedWorkspaces: workspaces ? workspaces.length - active.length : 'kept',
        members: members?.length ?? 'kept',
        apiKeys: apiKeys?.length ?? 'kept',
        invites: invites?.length ?? 'kept',
        ms: Date.now() - started,
      },
      'directory synced',
    );
    return snapshot;
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
