/**
 * The synced copy of the organization over Prisma (users, invites, workspaces, memberships, keys).
 *
 * A full sync diffs before it writes: the stored rows are read (in chunks, under the directory lock), compared
 * with the snapshot, and only inserts, rewrites and deletes are sent, each as a bulk statement of at most
 * CHUNK rows. Between chunks the event loop gets a turn, so a 10,000-key organization never holds it for long.
 * A rewrite is a delete plus an insert of the same primary key inside the transaction (the copy has no foreign
 * keys), which keeps it to two statements per chunk on both databases.
 */
import type { ApiKey, Invite, OrgUser, Workspace, WorkspaceMember } from '../core/ports/admin-api.js';
import type {
  DirectoryData,
  DirectoryReplaced,
  DirectorySnapshot,
  DirectoryVersion,
  DirectoryWriteCounts,
  Store,
} from '../core/ports/store.js';
import { nextTurn } from '../core/turn.js';
import type { Prisma, PrismaClient } from '../generated/sqlite/client.js';
import { insertRows } from './insert-rows.js';
import { forgetQueryHistory } from './query-history.js';

type Tx = Prisma.TransactionClient;
type Db = Tx | PrismaClient;
type Row<M extends keyof PrismaClient> = PrismaClient[M] extends { findFirstOrThrow(...a: any[]): Promise<infer R> }
  ? R
  : never;
/**
 * A row as read back: every column but `syncedAt`, which no comparison or read model uses (one date fewer to parse
 * a row, when a 10,000-key organization is read in full).
 */
type Stored<R> = Omit<R, 'syncedAt'>;
const READ_OMIT = { omit: { syncedAt: true } } as const;

/**
 * Rows per statement of a directory write. Prisma prepares a raw statement's parameters in the same task that runs
 * it (SQLite then runs it synchronously), about 0.1 ms a row of ten columns: 500 rows held the event loop for 35–60
 * ms. Fewer rows cost more statements (a first sync of 17,000 rows takes about 20% more CPU at 300 than at 500, 30%
 * at 200); large writes happen at a first sync (before the bot listens) and when much of an organization changed.
 */
export const DIRECTORY_CHUNK = 300;
/** Rows handled in memory (converted, indexed, compared) between two turns of the event loop. */
const ROWS_PER_TURN = 1000;
/**
 * Rows per read (loading the whole copy, a full sync's diff). Each read runs as one task of the event loop: SQLite
 * executes it synchronously on this thread and Prisma maps the rows in the same task, about 25 µs a row, so 1,000
 * rows held the loop for 25–45 ms.
 */
const READ_CHUNK = 250;
const DIRECTORY_SYNC_ID = 'directory';
/** A second DirectorySync row: when a partial write last changed the copy (see DirectoryVersion.changedAt). */
const DIRECTORY_CHANGED_ID = 'directory:changed';
/** A third row, written only to take the write lock before a partial write reads `directory:changed`. */
const DIRECTORY_WRITE_LOCK_ID = 'directory:write-lock';
/** pg_advisory_xact_lock key that serializes directory.replace on Postgres (arbitrary, fixed). */
const DIRECTORY_LOCK_KEY = 7_513_022_001;
/** A first sync of a large org writes every row; the default 5 s interactive-transaction timeout is too tight. */
const TX_OPTIONS = { maxWait: 30_000, timeout: 120_000 };

// --- conversions -------------------------------------------------------------------------------------------

/** API timestamps are strings; unparseable ones are stored as null rather than failing the whole sync. */
const toDate = (s: string | null | undefined): Date | null => {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
};
const toIso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const lower = (email: string) => email.trim().toLowerCase();

export const userFromRow = (r: Stored<Row<'orgUser'>>): OrgUser => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  addedAt: toIso(r.addedAt),
});
const userToRow = (u: OrgUser, syncedAt: Date) => ({
  id: u.id,
  email: u.email,
  emailLower: lower(u.email),
  name: u.name,
  role: u.role,
  addedAt: toDate(u.addedAt),
  syncedAt,
});

const inviteToRow = (i: Invite, syncedAt: Date) => ({
  id: i.id,
  email: i.email,
  emailLower: lower(i.email),
  role: i.role,
  status: i.status,
  invitedAt: toDate(i.invitedAt),
  expiresAt: toDate(i.expiresAt),
  syncedAt,
});

const workspaceFromRow = (r: Stored<Row<'workspace'>>): Workspace => ({
  id: r.id,
  name: r.name,
  createdAt: toIso(r.createdAt),
  archivedAt: toIso(r.archivedAt),
  displayColor: r.displayColor,
});
const workspaceToRow = (w: Workspace, syncedAt: Date) => ({
  id: w.id,
  name: w.name,
  createdAt: toDate(w.createdAt),
  archivedAt: toDate(w.archivedAt),
  displayColor: w.displayColor,
  syncedAt,
});

const memberFromRow = (r: Stored<Row<'workspaceMember'>>): WorkspaceMember => ({
  userId: r.userId,
  workspaceId: r.workspaceId,
  workspaceRole: r.workspaceRole,
});
const memberToRow = (m: WorkspaceMember, syncedAt: Date) => ({
  workspaceId: m.workspaceId,
  userId: m.userId,
  workspaceRole: m.workspaceRole,
  syncedAt,
});
const memberKey = (m: { workspaceId: string; userId: string }) => `${m.workspaceId}\u0000${m.userId}`;

const apiKeyFromRow = (r: Stored<Row<'apiKey'>>): ApiKey => ({
  id: r.id,
  name: r.name,
  status: r.status,
  partialKeyHint: r.partialKeyHint,
  workspaceId: r.workspaceId,
  createdAt: toIso(r.createdAt),
  createdBy: r.createdById ? { id: r.createdById, type: r.createdByType ?? 'user' } : null,
  expiresAt: toIso(r.expiresAt),
});
const apiKeyToRow = (k: ApiKey, syncedAt: Date) => ({
  id: k.id,
  name: k.name,
  status: k.status,
  partialKeyHint: k.partialKeyHint,
  workspaceId: k.workspaceId,
  createdAt: toDate(k.createdAt),
  createdById: k.createdBy?.id ?? null,
  createdByType: k.createdBy?.type ?? null,
  expiresAt: toDate(k.expiresAt),
  syncedAt,
});

/** Later rows win, as the API would have it; duplicate ids would otherwise fail createMany with P2002. */
function dedupe<T>(rows: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(key(r), r);
  return [...m.values()];
}

/** `dedupe` then `toRow` on each, a chunk at a time with a turn of the event loop between (a sync's 10,000 keys). */
async function toRows<T, R>(list: T[], key: (t: T) => string, toRow: (t: T, at: Date) => R, at: Date): Promise<R[]> {
  const out: R[] = [];
  for (const part of chunks(dedupe(list, key), ROWS_PER_TURN)) {
    for (const t of part) out.push(toRow(t, at));
    await nextTurn();
  }
  return out;
}

/** Equal in every stored column but `syncedAt` (when the row was written, not what it says). */
function sameRow(stored: Record<string, unknown>, incoming: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(incoming)) {
    if (k === 'syncedAt') continue;
    const s = stored[k];
    if (v instanceof Date || s instanceof Date) {
      if (!(v instanceof Date && s instanceof Date && v.getTime() === s.getTime())) return false;
    } else if ((s ?? null) !== (v ?? null)) return false;
  }
  return true;
}

function* chunks<T>(rows: readonly T[], size = DIRECTORY_CHUNK): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

// --- one table, diffed -------------------------------------------------------------------------------------

interface Table<R extends Record<string, unknown>> {
  key(r: Stored<R>): string;
  /** The stored rows, a chunk at a time in key order (each read is its own statement). */
  read(db: Db): AsyncGenerator<Stored<R>[]>;
  /** The stored rows with these keys (for partial upserts). */
  readSome(db: Db, keys: R[]): Promise<Stored<R>[]>;
  insert(db: Db, rows: R[]): Promise<unknown>;
  remove(db: Db, rows: Stored<R>[]): Promise<unknown>;
}

type Provider = 'sqlite' | 'postgres';

function idTable<R extends { id: string } & Record<string, unknown>>(
  name: string,
  provider: Provider,
  model: (db: Db) => {
    findMany(args: object): Promise<unknown[]>;
    deleteMany(args: object): Promise<unknown>;
  },
): Table<R> {
  // Omit<R, 'syncedAt'> of a generic R does not show its `id` to the compiler.
  const id = (r: Stored<R>) => (r as unknown as { id: string }).id;
  return {
    key: id,
    async *read(db) {
      let after: string | null = null;
      for (;;) {
        const rows = (await model(db).findMany({
          ...(after === null ? {} : { where: { id: { gt: after } } }),
          orderBy: { id: 'asc' },
          take: READ_CHUNK,
          ...READ_OMIT,
        })) as Stored<R>[];
        if (rows.length) yield rows;
        if (rows.length < READ_CHUNK) return;
        after = id(rows[rows.length - 1]!);
      }
    },
    readSome: async (db, rows) =>
      (await model(db).findMany({ where: { id: { in: rows.map((r) => r.id) } }, ...READ_OMIT })) as Stored<R>[],
    insert: (db, rows) => insertRows(db, provider, name, rows, { asJson: true }),
    remove: (db, rows) => model(db).deleteMany({ where: { id: { in: rows.map((r) => r.id) } } }),
  };
}

type UserRow = ReturnType<typeof userToRow>;
type InviteRow = ReturnType<typeof inviteToRow>;
type WorkspaceRow = ReturnType<typeof workspaceToRow>;
type MemberRow = ReturnType<typeof memberToRow>;
type ApiKeyRow = ReturnType<typeof apiKeyToRow>;

const tables = (provider: Provider) => ({
  users: idTable<UserRow>('OrgUser', provider, (db) => db.orgUser as never),
  invites: idTable<InviteRow>('Invite', provider, (db) => db.invite as never),
  workspaces: idTable<WorkspaceRow>('Workspace', provider, (db) => db.workspace as never),
  apiKeys: idTable<ApiKeyRow>('ApiKey', provider, (db) => db.apiKey as never),
  members: membersTable(provider),
});

const membersTable = (provider: Provider): Table<MemberRow> => ({
  key: memberKey,
  async *read(db) {
    let after: { workspaceId: string; userId: string } | null = null;
    for (;;) {
      const rows: Stored<MemberRow>[] = await db.workspaceMember.findMany({
        ...(after === null
          ? {}
          : {
              where: {
                OR: [
                  { workspaceId: { gt: after.workspaceId } },
                  { workspaceId: after.workspaceId, userId: { gt: after.userId } },
                ],
              },
            }),
        orderBy: [{ workspaceId: 'asc' }, { userId: 'asc' }],
        take: READ_CHUNK,
        ...READ_OMIT,
      });
      if (rows.length) yield rows;
      if (rows.length < READ_CHUNK) return;
      const last = rows[rows.length - 1]!;
      after = { workspaceId: last.workspaceId, userId: last.userId };
    }
  },
  readSome: (db, rows) =>
    db.workspaceMember.findMany({
      where: { OR: rows.map((r) => ({ workspaceId: r.workspaceId, userId: r.userId })) },
      ...READ_OMIT,
    }),
  insert: (db, rows) => insertRows(db, provider, 'WorkspaceMember', rows, { asJson: true }),
  remove: (db, rows) =>
    db.workspaceMember.deleteMany({
      where: { OR: rows.map((r) => ({ workspaceId: r.workspaceId, userId: r.userId })) },
    }),
});

interface Diff<R> {
  insert: R[];
  rewrite: R[];
  remove: Stored<R>[];
}

/** Compares the stored table with `incoming` (the whole table when `whole`, else only the keys given). */
async function diffTable<R extends Record<string, unknown>>(
  db: Db,
  table: Table<R>,
  incoming: R[],
  whole: boolean,
): Promise<Diff<R>> {
  const wanted = new Map<string, R>();
  for (const part of chunks(incoming, ROWS_PER_TURN)) {
    for (const r of part) wanted.set(table.key(r), r);
    await nextTurn();
  }
  const diff: Diff<R> = { insert: [], rewrite: [], remove: [] };
  const seen = new Set<string>();
  const compare = (stored: Stored<R>[]) => {
    for (const s of stored) {
      const k = table.key(s);
      seen.add(k);
      const next = wanted.get(k);
      if (!next) {
        if (whole) diff.remove.push(s);
      } else if (!sameRow(s as Record<string, unknown>, next)) diff.rewrite.push(next);
    }
  };
  if (whole) {
    for await (const stored of table.read(db)) {
      compare(stored);
      await nextTurn();
    }
  } else {
    for (const part of chunks(incoming)) {
      compare(await table.readSome(db, part));
    }
  }
  let n = 0;
  for (const [k, r] of wanted) {
    if (!seen.has(k)) diff.insert.push(r);
    if (++n % ROWS_PER_TURN === 0) await nextTurn();
  }
  return diff;
}

async function applyDiff<R extends Record<string, unknown>>(
  db: Db,
  table: Table<R>,
  diff: Diff<R>,
): Promise<DirectoryWriteCounts> {
  for (const part of chunks([...diff.remove, ...diff.rewrite])) {
    await table.remove(db, part);
    await nextTurn();
  }
  for (const part of chunks([...diff.insert, ...diff.rewrite])) {
    await table.insert(db, part);
    await nextTurn();
  }
  return { inserted: diff.insert.length, updated: diff.rewrite.length, deleted: diff.remove.length };
}

const addCounts = (a: DirectoryWriteCounts, b: DirectoryWriteCounts): DirectoryWriteCounts => ({
  inserted: a.inserted + b.inserted,
  updated: a.updated + b.updated,
  deleted: a.deleted + b.deleted,
});
const written = (c: DirectoryWriteCounts) => c.inserted + c.updated + c.deleted;

// --- the store's directory ---------------------------------------------------------------------------------

export function directoryStore(
  prisma: PrismaClient,
  provider: Provider,
  mapErrors: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Store['directory'] {
  const { users, invites, workspaces, members, apiKeys } = tables(provider);
  /**
   * Every directory write runs under one lock, so the diff it computed still holds when it writes. On Postgres
   * (READ COMMITTED) that is an advisory lock: two concurrent replaces would otherwise both insert the same new
   * rows and collide on the primary keys. SQLite transactions on one client are already serialized by the libsql
   * adapter's mutex, and writing a DirectorySync row first takes SQLite's write lock (across processes) for the
   * rest of the transaction.
   */
  const lock = async (tx: Tx, id: string, at: Date) => {
    if (provider === 'postgres') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${DIRECTORY_LOCK_KEY})`);
    await tx.directorySync.upsert({ where: { id }, create: { id, lastSyncedAt: at }, update: { lastSyncedAt: at } });
  };

  /**
   * The lock for a partial write, and the new `changedAt`: strictly later than the one stored, even when two
   * writes fall in the same millisecond (read models compare it for equality, so a repeat would go unseen). The
   * lock is taken by writing a row of its own first, so the stored value is read under it (on SQLite the first
   * write of a transaction takes the write lock; on PostgreSQL the advisory lock serializes).
   */
  const lockForChange = async (tx: Tx): Promise<void> => {
    await lock(tx, DIRECTORY_WRITE_LOCK_ID, new Date());
    await markChanged(tx);
  };

  /** Moves `changedAt` (under the lock already taken), strictly later than the one stored. */
  const markChanged = async (tx: Tx): Promise<void> => {
    const now = new Date();
    const previous = await tx.directorySync.findUnique({ where: { id: DIRECTORY_CHANGED_ID } });
    const at = new Date(Math.max(now.getTime(), (previous?.lastSyncedAt.getTime() ?? 0) + 1));
    await tx.directorySync.upsert({
      where: { id: DIRECTORY_CHANGED_ID },
      create: { id: DIRECTORY_CHANGED_ID, lastSyncedAt: at },
      update: { lastSyncedAt: at },
    });
  };

  /**
   * A partial write: the rows given (by key) are compared with the stored ones under the lock and only those that
   * differ are written; when any is, `changedAt` moves so that read models elsewhere reload. The transaction
   * is rolled back (by throwing) when nothing differs, so an unchanged re-read writes nothing at all.
   */
  async function upsertSome<R extends Record<string, unknown>>(
    what: string,
    table: Table<R>,
    rows: R[],
    extra?: (tx: Tx) => Promise<DirectoryWriteCounts>,
  ): Promise<void> {
    if (rows.length === 0 && !extra) return;
    const unchanged = Symbol('unchanged');
    try {
      await mapErrors(what, () =>
        prisma.$transaction(async (tx) => {
          await lockForChange(tx);
          const diff = await diffTable(tx, table, rows, false);
          let counts = await applyDiff(tx, table, diff);
          if (extra) counts = addCounts(counts, await extra(tx));
          if (written(counts) === 0) throw unchanged;
        }, TX_OPTIONS),
      );
    } catch (e) {
      if (e !== unchanged) throw e;
    }
  }

  const now = () => new Date();

  const version = async (db: Db = prisma): Promise<DirectoryVersion> => {
    const rows = await db.directorySync.findMany({ where: { id: { in: [DIRECTORY_SYNC_ID, DIRECTORY_CHANGED_ID] } } });
    return {
      syncedAt: rows.find((r) => r.id === DIRECTORY_SYNC_ID)?.lastSyncedAt ?? null,
      changedAt: rows.find((r) => r.id === DIRECTORY_CHANGED_ID)?.lastSyncedAt ?? null,
    };
  };
  const sameVersion = (a: DirectoryVersion, b: DirectoryVersion) =>
    a.syncedAt?.getTime() === b.syncedAt?.getTime() && a.changedAt?.getTime() === b.changedAt?.getTime();

  async function readAll<R extends Record<string, unknown>, T>(
    table: Table<R>,
    map: (r: Stored<R>) => T,
  ): Promise<T[]> {
    const out: T[] = [];
    for await (const rows of table.read(prisma)) {
      for (const r of rows) out.push(map(r));
      await nextTurn();
    }
    return out;
  }

  return {
    async replace(snapshot: DirectorySnapshot): Promise<DirectoryReplaced> {
      const at = snapshot.syncedAt;
      return mapErrors('The directory sync', () =>
        prisma
          .$transaction(async (tx) => {
            await lock(tx, DIRECTORY_SYNC_ID, at);
            const parts: Array<() => Promise<DirectoryWriteCounts>> = [];
            // A part absent from the snapshot (null: it could not be fetched) keeps its stored rows.
            const part = <T, R extends Record<string, unknown>>(
              table: Table<R>,
              list: T[] | null,
              key: (t: T) => string,
              toRow: (t: T, at: Date) => R,
            ) => {
              if (list)
                parts.push(async () =>
                  applyDiff(tx, table, await diffTable(tx, table, await toRows(list, key, toRow, at), true)),
                );
            };
            part(users, snapshot.users, (u) => u.id, userToRow);
            part(invites, snapshot.invites, (i) => i.id, inviteToRow);
            part(workspaces, snapshot.workspaces, (w) => w.id, workspaceToRow);
            part(members, snapshot.members, memberKey, memberToRow);
            part(apiKeys, snapshot.apiKeys, (k) => k.id, apiKeyToRow);
            // One statement at a time: an interactive transaction is one connection.
            let counts: DirectoryWriteCounts = { inserted: 0, updated: 0, deleted: 0 };
            for (const p of parts) counts = addCounts(counts, await p());
            // Rows changed: read models elsewhere reload. Nothing changed: they keep their rows and take the new
            // syncedAt (a periodic sync of an unchanged organization costs them no reload of 10,000 keys).
            if (written(counts) > 0) await markChanged(tx);
            return { ...counts, version: await version(tx) };
          }, TX_OPTIONS)
          .finally(forgetQueryHistory),
      );
    },
    async upsertUsers(list) {
      const at = now();
      await upsertSome(
        'Saving users',
        users,
        dedupe(list, (u) => u.id).map((u) => userToRow(u, at)),
      );
    },
    async upsertWorkspaces(list) {
      const at = now();
      await upsertSome(
        'Saving workspaces',
        workspaces,
        dedupe(list, (w) => w.id).map((w) => workspaceToRow(w, at)),
      );
    },
    async upsertApiKeys(list) {
      const at = now();
      await upsertSome(
        'Saving API keys',
        apiKeys,
        dedupe(list, (k) => k.id).map((k) => apiKeyToRow(k, at)),
      );
    },
    async replaceWorkspaceMembers(workspaceId, list) {
      const at = now();
      const rows = dedupe(
        list.map((m) => ({ ...m, workspaceId })),
        (m) => m.userId,
      ).map((m) => memberToRow(m, at));
      // Members of the workspace no longer listed are deleted: the rows given are the whole workspace.
      await upsertSome('Saving workspace members', members, rows, async (tx) => {
        const keep = new Set(rows.map((r) => r.userId));
        const stored = await tx.workspaceMember.findMany({ where: { workspaceId }, select: { userId: true } });
        const gone = stored.filter((r) => !keep.has(r.userId)).map((r) => r.userId);
        let deleted = 0;
        for (const part of chunks(gone)) {
          deleted += (await tx.workspaceMember.deleteMany({ where: { workspaceId, userId: { in: part } } })).count;
        }
        return { inserted: 0, updated: 0, deleted };
      });
    },
    async lastSyncedAt() {
      const r = await prisma.directorySync.findUnique({ where: { id: DIRECTORY_SYNC_ID } });
      return r?.lastSyncedAt ?? null;
    },
    version: () => version(),
    async load() {
      // Chunked reads are separate statements, so a write may land between them: read again until the version
      // is the same before and after (a write moves it).
      for (let attempt = 0; ; attempt++) {
        const before = await version();
        const data: DirectoryData = {
          users: await readAll(users, userFromRow as (r: Stored<UserRow>) => OrgUser),
          workspaces: await readAll(workspaces, workspaceFromRow as (r: Stored<WorkspaceRow>) => Workspace),
          members: await readAll(members, memberFromRow as (r: Stored<MemberRow>) => WorkspaceMember),
          apiKeys: await readAll(apiKeys, apiKeyFromRow as (r: Stored<ApiKeyRow>) => ApiKey),
          version: before,
        };
        if (sameVersion(before, await version()) || attempt >= 4) return data;
      }
    },
    async getUser(orgUserId) {
      const r = await prisma.orgUser.findUnique({ where: { id: orgUserId } });
      return r ? userFromRow(r) : null;
    },
    async findUserByEmail(email) {
      const r = await prisma.orgUser.findFirst({ where: { emailLower: lower(email) }, orderBy: { id: 'asc' } });
      return r ? userFromRow(r) : null;
    },
    async listUsers() {
      const rows = await prisma.orgUser.findMany({ orderBy: [{ emailLower: 'asc' }, { id: 'asc' }] });
      return rows.map(userFromRow);
    },
    async listWorkspaces() {
      const rows = await prisma.workspace.findMany({ orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      return rows.map(workspaceFromRow);
    },
    async membershipsOf(orgUserId) {
      const rows = await prisma.workspaceMember.findMany({
        where: { userId: orgUserId },
        orderBy: { workspaceId: 'asc' },
      });
      return rows.map(memberFromRow);
    },
    async listApiKeys() {
      const rows = await prisma.apiKey.findMany({
        orderBy: [{ createdAt: { sort: 'desc', nulls: 'last' } }, { id: 'asc' }],
      });
      return rows.map(apiKeyFromRow);
    },
  };
}
