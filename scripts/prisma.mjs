#!/usr/bin/env node
// Prisma CLI wrapper for npm scripts, CI and src/store (migrateDatabase). Plain Node, no TS, no network.
//
//   node scripts/prisma.mjs generate             both clients (sqlite, postgres); the package.json postinstall
//   node scripts/prisma.mjs deploy               migrate deploy for the provider implied by DATABASE_URL
//   node scripts/prisma.mjs drift                fail when a schema change has no migration (both providers)
//   node scripts/prisma.mjs new-migration NAME   create a migration for both providers (recipe 3.3 (b))
//
// Env: DATABASE_URL (deploy; default file:./data/quartermaster.db), DRIFT_DATABASE_URL (a Postgres database
// drift/new-migration may use; otherwise a scratch database is created on PG_ADMIN_URL, default
// postgresql://postgres@127.0.0.1:5432/postgres, and dropped afterwards).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const PROVIDERS = ['sqlite', 'postgres'];
const DEFAULT_SQLITE_URL = 'file:./data/quartermaster.db';
const PG_ADMIN_URL = process.env.PG_ADMIN_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

const log = (line) => console.log(`[prisma.mjs] ${line}`);
const fail = (msg, code = 1) => {
  console.error(`[prisma.mjs] ERROR: ${msg}`);
  process.exit(code);
};

function prismaCli() {
  const local = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
  if (existsSync(local)) return local;
  try {
    return path.join(path.dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  } catch {
    return fail('the prisma package is not installed (npm install)');
  }
}

function providerOf(url) {
  if (/^file:/.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  return fail(`cannot tell the database provider from DATABASE_URL (expected file:… or postgres(ql)://…)`);
}

// Relative file: URLs are relative to the caller's cwd (as for the app), but the CLI runs with cwd = package root.
function absolutizeSqliteUrl(url) {
  const rest = url.slice('file:'.length);
  const [file, query] = rest.split(/\?(.*)/s);
  if (!file || file === ':memory:' || path.isAbsolute(file)) return url;
  return `file:${path.resolve(process.cwd(), file)}${query ? `?${query}` : ''}`;
}

/**
 * DATABASE_URL as it may be printed: a file: URL's path, or a server URL's scheme, host and database only. The
 * credentials (a password may hold `@`; the URL parser takes the userinfo to the last one) and the query (which
 * may carry `password=` or `sslpassword=`) are never printed.
 */
function printableUrl(url) {
  if (/^file:/.test(url)) return url.split('?')[0];
  if (!URL.canParse(url)) return '(a URL that does not parse; not shown)';
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}${u.username || u.password || u.search ? ' (credentials and parameters not shown)' : ''}`;
}

/** Runs the prisma CLI for one provider; returns the exit status (or exits on a spawn failure). */
function runPrisma(provider, args, { databaseUrl, allowStatus = [0] } = {}) {
  const env = {
    ...process.env,
    DB_PROVIDER: provider,
    // Offline: no telemetry check-in or update notice (recipe 3.1).
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    PRISMA_HIDE_PREVIEW_FLAG_WARNINGS: '1',
  };
  // A URL of the wrong scheme for the schema's provider fails validation; generate never connects.
  env.DATABASE_URL =
    databaseUrl ??
    (provider === 'postgres' ? 'postgresql://postgres@127.0.0.1:5432/quartermaster' : DEFAULT_SQLITE_URL);
  log(`DB_PROVIDER=${provider} DATABASE_URL=${printableUrl(env.DATABASE_URL)} prisma ${args.join(' ')}`);
  const started = Date.now();
  // Workaround #6: the wasm schema engine's 10 s/60 s timers keep the process alive; the preload unrefs them.
  const r = spawnSync(
    process.execPath,
    ['--require', path.join(root, 'scripts', 'unref-long-timers.cjs'), prismaCli(), ...args],
    { cwd: root, env, stdio: 'inherit' },
  );
  if (r.error) fail(`could not run prisma: ${r.error.message}`);
  const status = r.status ?? (r.signal ? 128 : 1);
  log(`→ exit ${status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!allowStatus.includes(status)) fail(`prisma ${args[0]} ${args[1] ?? ''} failed (${provider}, exit ${status})`);
  return status;
}

async function withPgClient(url, fn) {
  const { default: pg } = await import(pathToFileURL(require.resolve('pg')).href);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A Postgres database for commands that need one (workaround #8: even datamodel diffs connect). */
async function withScratchPg(fn) {
  if (process.env.DRIFT_DATABASE_URL) return fn(process.env.DRIFT_DATABASE_URL);
  const name = `qm_scratch_${randomBytes(6).toString('hex')}`;
  const url = new URL(PG_ADMIN_URL);
  try {
    await withPgClient(PG_ADMIN_URL, (c) => c.query(`CREATE DATABASE "${name}"`));
  } catch (e) {
    fail(
      `postgres: cannot create a scratch database on ${url.host} (${e.message}); start PostgreSQL or set DRIFT_DATABASE_URL`,
    );
  }
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await withPgClient(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch((e) =>
      log(`warning: could not drop scratch database ${name}: ${e.message}`),
    );
  }
}

function migrationsDir(provider) {
  return path.join(root, 'prisma', provider, 'migrations');
}

function migrationNames(provider) {
  const dir = migrationsDir(provider);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => statSync(path.join(dir, n)).isDirectory());
}

/** Runs fn(databaseUrl) with a throwaway database for the provider. */
async function withScratchDb(provider, fn) {
  if (provider === 'postgres') return withScratchPg(fn);
  const dir = mkdtempSync(path.join(tmpdir(), 'qm-prisma-'));
  try {
    return await fn(`file:${path.join(dir, 'scratch.db')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function generate() {
  for (const provider of PROVIDERS) runPrisma(provider, ['generate']);
}

function deploy() {
  let url = process.env.DATABASE_URL || DEFAULT_SQLITE_URL;
  const provider = providerOf(url);
  if (provider === 'sqlite') {
    url = absolutizeSqliteUrl(url);
    const file = url.slice('file:'.length).split('?')[0];
    if (file && file !== ':memory:') {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
      } catch (e) {
        fail(`cannot create the directory for ${file}: ${e.message}`);
      }
    }
  }
  runPrisma(provider, ['migrate', 'deploy'], { databaseUrl: url });
}

async function drift() {
  const drifted = [];
  for (const provider of PROVIDERS) {
    if (migrationNames(provider).length === 0) {
      drifted.push(provider);
      console.error(`[prisma.mjs] ${provider}: prisma/${provider}/migrations has no migrations`);
      continue;
    }
    const status = await withScratchDb(provider, (databaseUrl) =>
      runPrisma(
        provider,
        [
          'migrate',
          'diff',
          '--from-migrations',
          `prisma/${provider}/migrations`,
          '--to-schema-datamodel',
          `prisma/${provider}`,
          '--exit-code',
        ],
        { databaseUrl, allowStatus: [0, 2] },
      ),
    );
    if (status === 2) {
      drifted.push(provider);
      console.error(
        `[prisma.mjs] ${provider}: the schema (prisma/models) has changes with no migration in prisma/${provider}/migrations`,
      );
    } else log(`${provider}: migrations match the schema`);
  }
  if (drifted.length > 0)
    fail(
      `migration drift for ${drifted.join(' and ')}: run \`node scripts/prisma.mjs new-migration <name>\` and commit prisma/*/migrations`,
      2,
    );
}

async function newMigration(name) {
  if (!name || !/^[a-z0-9_]+$/i.test(name))
    fail('usage: node scripts/prisma.mjs new-migration NAME (letters, digits, _)');
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  let created = 0;
  for (const provider of PROVIDERS) {
    const dir = migrationsDir(provider);
    const first = migrationNames(provider).length === 0;
    const tmp = path.join(mkdtempSync(path.join(tmpdir(), 'qm-mig-')), 'migration.sql');
    // --from-migrations must not see an empty folder, so the first migration diffs from empty (recipe 3.3 (b'')).
    const from = first ? ['--from-empty'] : ['--from-migrations', `prisma/${provider}/migrations`];
    const status = await withScratchDb(provider, (databaseUrl) =>
      runPrisma(
        provider,
        [
          'migrate',
          'diff',
          ...from,
          '--to-schema-datamodel',
          `prisma/${provider}`,
          '--script',
          '--exit-code',
          '-o',
          tmp,
        ],
        { databaseUrl, allowStatus: [0, 2] },
      ),
    );
    if (status === 0) {
      log(`${provider}: no schema changes, no migration created`);
      continue;
    }
    // Created only after the diff: --from-migrations must not see the new empty folder (recipe 3.3 (b)).
    const target = path.join(dir, `${stamp}_${name}`);
    mkdirSync(target, { recursive: true });
    // copy, not rename: the temp dir may be on another filesystem (EXDEV)
    copyFileSync(tmp, path.join(target, 'migration.sql'));
    rmSync(path.dirname(tmp), { recursive: true, force: true });
    const lock = path.join(dir, 'migration_lock.toml');
    if (!existsSync(lock))
      writeFileSync(
        lock,
        `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider === 'postgres' ? 'postgresql' : 'sqlite'}"\n`,
      );
    log(`${provider}: created ${path.relative(root, target)}/migration.sql`);
    created++;
  }
  if (created === 0) log('nothing to do: both migration histories match the schema');
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'generate':
    generate();
    break;
  case 'deploy':
    deploy();
    break;
  case 'drift':
    await drift();
    break;
  case 'new-migration':
    await newMigration(rest[0]);
    break;
  default:
    fail(`unknown command ${command ?? '(none)'}; use generate | deploy | drift | new-migration NAME`);
}
