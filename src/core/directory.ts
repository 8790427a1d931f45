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
    const [users, invites, workspaces, apiKeys] = await Promise.all([
      this.admin.listUsers(),
      this.admin.listInvites(),
      this.admin.listWorkspaces({ includeArchived: true }),
      this.admin.listApiKeys(),
    ]);
    const active = workspaces.filter((w) => !w.archivedAt);
    const members = (await Promise.all(active.map((w) => this.admin.listWorkspaceMembers(w.id)))).flat();
    const snapshot: DirectorySnapshot = { users, invites, workspaces, members, apiKeys, syncedAt: this.clock.now() };
    await this.store.directory.replace(snapshot);
    this.logger.info(
      {
        users: users.length,
        workspaces: workspaces.length,
        members: members.length,
        apiKeys: apiKeys.length,
        ms: Date.now() - started,
      },
      'directory synced',
    );
    return snapshot;
  }
}
