import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';
import { pgMigrationAdapter, sqliteMigrationAdapter } from './prisma/migration-adapters.js';

// The Prisma CLI only (the app builds its own adapters in src/store). Run it through scripts/prisma.mjs,
// which sets DB_PROVIDER, the offline env and the timer preload (recipe 3.3).
const root = path.dirname(fileURLToPath(import.meta.url));
const url = process.env.DATABASE_URL;
const provider =
  process.env.DB_PROVIDER === 'postgres' || (!process.env.DB_PROVIDER && /^postgres(ql)?:/.test(url ?? ''))
    ? 'postgres'
    : 'sqlite';
// Without a resolvable DATABASE_URL the schema fails to parse and the CLI tries to download a query engine
// (recipe 3.1), so always provide one; for `generate` it is never connected to.
process.env.DATABASE_URL ??=
  provider === 'postgres' ? 'postgresql://postgres@127.0.0.1:5432/quartermaster' : 'file:./data/quartermaster.db';

export default defineConfig({
  engine: 'js',
  experimental: { adapter: true },
  // A folder => multi-file schema; Prisma follows the `models -> ../models` symlink (recipe 3.4).
  schema: path.join(root, 'prisma', provider),
  migrations: { path: path.join(root, 'prisma', provider, 'migrations') },
  async adapter() {
    const dbUrl = process.env.DATABASE_URL!;
    return provider === 'postgres' ? pgMigrationAdapter(dbUrl) : sqliteMigrationAdapter(dbUrl);
  },
});
