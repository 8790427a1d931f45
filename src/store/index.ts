/**
 * Persistence entry point. src/store is the only code that imports the generated Prisma clients
 * (src/generated/<provider>, produced by `node scripts/prisma.mjs generate`, the postinstall).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../core/ports/store.js';
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

export async function openStore(databaseUrl: string): Promise<Store> {
  const provider = providerOf(databaseUrl);
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
    prisma = new PgClient({ adapter }) as unknown as PrismaClient;
  } else {
    const [{ PrismaClient: SqliteClient }, { PrismaLibSQL }] = await Promise.all([
      import('../generated/sqlite/client.js'),
      import('@prisma/adapter-libsql'),
    ]);
    const file = databaseUrl.slice('file:'.length).split('?')[0] ?? '';
    // libsql creates the file but not its directory (the default is ./data/quartermaster.db).
    if (file && file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    prisma = new SqliteClient({ adapter: new PrismaLibSQL({ url: databaseUrl }) });
  }
  return createPrismaStore(prisma, { provider, migrationsDir: migrationsDirOf(provider) });
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
