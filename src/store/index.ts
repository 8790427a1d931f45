/**
 * Persistence entry point. src/store is the only code that imports the generated Prisma clients
 * (src/generated/<provider>, produced by `node scripts/prisma.mjs generate`, the postinstall).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaLibSQL as PrismaLibSQLType } from '@prisma/adapter-libsql';
import type { Store } from '../core/ports/store.js';
import { nextTurn } from '../core/turn.js';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { createPrismaStore, type Provider } from './prisma-store.js';

export type { Provider } from './prisma-store.js';

/** Package root, so migrations and scripts are found whatever the cwd. */
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `file:` → sqlite; `postgres://` / `postgresql://` → postgres. */
export function providerOf(url: string): Provider {
  if (/^file:/i.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  throw new Error('DATABASE_URL must start with file: (SQLite) or postgres:// / postgresql:// (PostgreSQL)');
}

/** Directory holding the migration folders shipped for a provider. */
export function migrationsDirOf(provider: Provider): string {
  return path.join(packageRoot, 'prisma', provider, 'migrations');
}

export interface OpenStoreOptions {
  /** Called with the SQL of every statement the store runs, as it runs (Prisma's query events): for tests. */
  onQuery?: (sql: string) => void;
}

export async function openStore(databaseUrl: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const provider = providerOf(databaseUrl);
  const log = { log: opts.onQuery ? [{ emit: 'event' as const, level: 'query' as const }] : [] };
  let prisma: PrismaClient;
  if (provider === 'postgres') {
    const [{ PrismaClient: PgClient }, { PrismaPg }] = await Promise.all([
      import('../generated/postgres/client.js'),
      import('@prisma/adapter-pg'),
    ]);
    // No OID 19/18 relabel here (workaround #3): that only bites the schema engine's catalog queries; our own
    // tables use text/timestamp/int/jsonb, and the one catalog query (pendingMigrations) casts to boolean.
    // allowExitOnIdle: an idle pool must not keep a finished CLI command or test worker alive.
    const adapter = new PrismaPg({ connectionString: databaseUrl, allowExitOnIdle: true });
    // Same models => same query API; typed as the sqlite client (one generated client per provider, #10).
    prisma = new PgClient({ adapter, ...log }) as unknown as PrismaClient;
  } else {
    const [{ PrismaClient: SqliteClient }, { PrismaLibSQL }] = await Promise.all([
      import('../generated/sqlite/client.js'),
      import('@prisma/adapter-libsql'),
    ]);
    const file = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
    const onDisk = Boolean(file) && file !== ':memory:';
    // libsql creates the file but not its directory (the default is ./data/quartermaster.db).
    if (onDisk) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const wal = { on: false };
    prisma = new SqliteClient({ adapter: concurrentLibSQL(PrismaLibSQL, databaseUrl, wal), ...log });
    // The bot and the operator's CLI verbs share the file: with write-ahead logging, readers never wait for a
    // writer and a writer never waits for readers. The mode is stored in the file, so setting it once is enough.
    if (onDisk) {
      const [mode] = await prisma.$queryRawUnsafe<{ journal_mode?: string }[]>('PRAGMA journal_mode = WAL');
      // Some file systems (network mounts) refuse WAL; the cheaper commit below is safe only with it.
      wal.on = mode?.journal_mode?.toLowerCase() === 'wal';
      // The connection that asked was prepared before the answer; later ones get it in prepare().
      if (wal.on) await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
    }
  }
  const { onQuery } = opts;
  if (onQuery) {
    (prisma as unknown as { $on(e: 'query', f: (q: { query: string }) => void): void }).$on('query', (q) =>
      onQuery(q.query),
    );
  }
  return createPrismaStore(prisma, { provider, migrationsDir: migrationsDirOf(provider) });
}

/** The statement lock of the first libsql adapter of each database file in this process (see ConcurrentLibSQL). */
const SHARED_LOCKS = new Map<string, unknown>();

/** How long a SQLite write waits for another process's write to finish before it fails ("database is locked"). */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * The libsql adapter with a busy timeout on every connection. SQLite's default is 0 (a write fails at once while
 * another process writes), and libsql opens a fresh connection after every transaction, so the pragma is
 * set again on the first statement of each new connection.
 */
function concurrentLibSQL(Base: typeof PrismaLibSQLType, url: string, wal: { on: boolean }): PrismaLibSQLType {
  class ConcurrentLibSQL extends Base {
    /**
     * The adapter serializes its own statements and transactions behind one lock, but a second client of the same
     * file in this process (two stores, as in the tests of several replicas) has its own: while one holds a
     * transaction open across awaits, the other's write waits for SQLite's lock *synchronously* (libsql blocks the
     * thread), so the first can never commit and both wait out the busy timeout. Clients of one file in one
     * process therefore share the first one's lock; separate processes still meet at SQLite's file lock.
     */
    override async connect() {
      const adapter = await super.connect();
      const own = adapter as unknown as Record<symbol, unknown>;
      const [tag] = Object.getOwnPropertySymbols(own).filter(
        (k) => typeof (own[k] as { acquire?: unknown } | undefined)?.acquire === 'function',
      );
      if (tag !== undefined && url !== ':memory:') {
        const shared = SHARED_LOCKS.get(url);
        if (shared) own[tag] = shared;
        else SHARED_LOCKS.set(url, own[tag]);
      }
      return adapter;
    }

    override createClient(config: Parameters<PrismaLibSQLType['createClient']>[0]) {
      const client = super.createClient(config);
      const { execute, batch, executeMultiple, transaction } = client;
      let fresh = true;
      const prepare = async () => {
        // libsql runs each statement synchronously on this thread: give the event loop a turn first, so requests
        // that arrived meanwhile are acknowledged before the statement (and Prisma's work around it) runs.
        await nextTurn();
        if (!fresh) return;
        fresh = false;
        await execute.call(client, `PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
        // In write-ahead-log mode NORMAL is still safe against a crash of the process (a power cut may lose the
        // last commits, never corrupt the file) and saves an fsync on every commit. Without WAL it keeps FULL.
        if (wal.on) await execute.call(client, 'PRAGMA synchronous = NORMAL');
      };
      client.execute = (async (...args: Parameters<typeof execute>) => {
        await prepare();
        return execute.apply(client, args);
      }) as typeof execute;
      client.batch = async (...args) => {
        await prepare();
        return batch.apply(client, args);
      };
      client.executeMultiple = async (...args) => {
        await prepare();
        return executeMultiple.apply(client, args);
      };
      type Mode = 'write' | 'read' | 'deferred';
      client.transaction = async (mode?: Mode) => {
        await prepare();
        const tx = await (transaction as (this: typeof client, mode?: Mode) => ReturnType<typeof transaction>).call(
          client,
          mode,
        );
        // The transaction keeps this connection; the client opens a new one for the next statement.
        fresh = true;
        return tx;
      };
      return client;
    }
  }
  // intMode bigint: libsql's default ('number') throws on any integer beyond 2^53 it reads, so a row holding a BIGINT
  // amount over $9,007,199.25 in nano-dollars (a budget, an alert's spend, a sum) failed every query that read it.
  // The adapter hands bigints to Prisma as decimal text, which it reads by the column's type (Int stays a number).
  return new ConcurrentLibSQL({ url, intMode: 'bigint' });
}

/**
 * Applies the shipped migrations only when some are pending. The check runs in-process against
 * `_prisma_migrations`; `prisma migrate deploy` (a child process that takes Prisma's migration lock) is spawned
 * only when something is pending, or when the check itself fails (its error then explains the problem). So
 * operator verbs start quickly and never contend with a running bot for the lock. Returns what was pending.
 */
export async function migrateIfPending(
  store: Store,
  databaseUrl: string,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const pending = await store.health.pendingMigrations().catch(() => null);
  if (pending?.length === 0) return [];
  await migrateDatabase(databaseUrl, log);
  return pending ?? [];
}

/**
 * Applies the shipped migrations (`prisma migrate deploy`) through scripts/prisma.mjs, which carries the offline
 * settings and CLI workarounds (recipe 3.2 #2-#6). Relative `file:` URLs are resolved against the current cwd,
 * as openStore does. Rejects with the CLI output when the deploy fails.
 */
export function migrateDatabase(databaseUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  providerOf(databaseUrl);
  const script = path.join(packageRoot, 'scripts', 'prisma.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, 'deploy'], {
      cwd: process.cwd(),
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (pending.trim()) {
        tail.push(pending);
        log(pending);
      }
      if (code === 0) resolve();
      else reject(new Error(`prisma migrate deploy failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}
