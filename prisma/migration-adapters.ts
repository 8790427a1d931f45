// Driver-adapter factories for the Prisma CLI only (prisma 6.19, engine: 'js'); the app uses the plain adapters.
// Each shim works around a verified failure of offline migrate (recipe section 3.2).
import { randomUUID } from 'node:crypto';

type Q = { sql: string; args: unknown[] };

const isMultiStatementScript = (q: Q) => q.args.length === 0 && /;\s*\S/.test(q.sql.replace(/--[^\n]*/g, ''));

/** SQLite through libsql (prebuilt binary, unlike better-sqlite3: recipe 3.1). */
export async function sqliteMigrationAdapter(url: string) {
  const { PrismaLibSQL } = await import('@prisma/adapter-libsql');
  const factory = new PrismaLibSQL({ url });
  const shadow = factory.connectToShadowDb.bind(factory);
  // Workaround #2: the shadow replay sends each whole migration.sql through executeRaw, and libsql silently
  // runs only its first statement (false drift). Send parameterless multi-statement SQL through executeScript.
  factory.connectToShadowDb = async () => {
    const a = await shadow();
    const raw = a.executeRaw.bind(a);
    a.executeRaw = async (q: Q) => {
      if (!isMultiStatementScript(q)) return raw(q as any);
      await a.executeScript(q.sql);
      return 0;
    };
    return a;
  };
  return factory;
}

export async function pgMigrationAdapter(url: string) {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const u = new URL(url);
  // Workaround #4: with a connectionString, node-postgres ignores `database`, and the shadow DB replay would
  // land in the main database. Pass discrete settings.
  const cfg = {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    // Not every command disposes the adapter it got; idle pooled clients would keep the CLI alive for
    // the pool's 10 s idle timeout (like workaround #6, but in node-postgres).
    allowExitOnIdle: true,
  };
  // Workaround #3 (prisma/orm#27403): the schema engine reads catalog columns of type `name` (OID 19) and
  // `"char"` (OID 18), which adapter-pg cannot deserialize. Report them as text (OID 25).
  const textify = <T extends object>(q: T): T => {
    // Workaround #7: adapter-pg's executeScript splits a migration on every ";", which breaks a dollar-quoted
    // function body (the links change-counter trigger). PostgreSQL runs a parameterless multi-statement script
    // as one simple query, dollar quotes and all.
    const client = (q as any).client;
    if (typeof (q as any).executeScript === 'function' && typeof client?.query === 'function') {
      (q as any).executeScript = async (script: string) => {
        try {
          await client.query(script);
        } catch (error) {
          (q as any).onError(error);
        }
      };
    }
    const io = (q as any).performIO.bind(q);
    (q as any).performIO = async (x: unknown) => {
      const r = await io(x);
      for (const f of r.fields ?? []) if (f.dataTypeID === 19 || f.dataTypeID === 18) f.dataTypeID = 25;
      return r;
    };
    const tx = (q as any).startTransaction?.bind(q);
    if (tx) (q as any).startTransaction = async (...a: unknown[]) => textify(await tx(...a));
    return q;
  };
  const factory = new PrismaPg(cfg);
  const connect = factory.connect.bind(factory);
  factory.connect = async () => textify(await connect());
  // Workaround #5: adapter-pg drops the shadow DB before ending its pool, so the DROP fails and shadow DBs leak.
  // Own the lifecycle: create, connect a second adapter, end its pool, then drop.
  factory.connectToShadowDb = async () => {
    const admin = await connect();
    const name = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const shadowDb = textify(await new PrismaPg({ ...cfg, database: name }).connect());
    const dispose = shadowDb.dispose.bind(shadowDb);
    shadowDb.dispose = async () => {
      await dispose();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.dispose();
    };
    return shadowDb;
  };
  return factory;
}
