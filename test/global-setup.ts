/**
 * Migrates ONE template database per run (recipe 3.5); test files clone it through test/support/db.ts.
 * SQLite: a temp file. Postgres: a fresh `qm_tpl_<random>` on TEST_DATABASE_URL (default
 * postgresql://postgres@127.0.0.1:5432/postgres), dropped on teardown with every clone of this run.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function deploy(url: string) {
  const started = Date.now();
  execFileSync(process.execPath, [path.join(root, 'scripts', 'prisma.mjs'), 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  console.log(`[global-setup] migrated template database in ${Date.now() - started} ms`);
}

export default async function setup() {
  const provider = process.env.DB_PROVIDER === 'postgres' ? 'postgres' : 'sqlite';
  process.env.DB_PROVIDER = provider;
  const runId = randomBytes(4).toString('hex');
  process.env.QM_TEST_RUN_ID = runId;

  if (provider === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'qm-test-'));
    const file = path.join(dir, 'template.db');
    deploy(`file:${file}`);
    process.env.QM_TEST_TEMPLATE = file;
    process.env.QM_TEST_DIR = dir;
    return () => rmSync(dir, { recursive: true, force: true });
  }

  const base = process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const adminUrl = admin.toString();
  const template = `qm_tpl_${runId}`;
  const exec = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await exec(`CREATE DATABASE "${template}"`);
  const tplUrl = new URL(base);
  tplUrl.pathname = `/${template}`;
  deploy(tplUrl.toString());
  process.env.QM_TEST_PG_ADMIN_URL = adminUrl;
  process.env.QM_TEST_TEMPLATE = template;

  return async () => {
    // Clones a test forgot to drop, then the template (the deploy process has exited: no open connection).
    const { rows } = await exec(
      `SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'qm_t_${runId}_%' OR datname = '${template}'`,
    );
    for (const { name } of rows) await exec(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
}
