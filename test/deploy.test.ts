/**
 * The deployment files (Dockerfile, compose.yaml, deploy/quartermaster.service) cannot be built or started here,
 * so their load-bearing lines are checked: they run the supervisor command, the image is non-root with a
 * /healthz health check, compose has PostgreSQL with a health check and a volume, and systemd restarts on failure.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root } from './support/process.js';

const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const ins = instructions(read('Dockerfile'));
  const lastStage = ins.slice(ins.map((i) => i.op).lastIndexOf('FROM'));

  it('is multi-stage on node:20-bookworm-slim', () => {
    const froms = ins.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(ins.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args))).toBe(true);
  });

  it('runs the supervisor command, as a non-root user, with a /healthz health check', () => {
    const cmd = lastStage.filter((i) => i.op === 'CMD').at(-1);
    expect(JSON.parse(cmd!.args)).toEqual(['node', 'bin/quartermaster.mjs', 'start']);
    expect(lastStage.filter((i) => i.op === 'USER').at(-1)?.args).toBe('node');
    const health = lastStage.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toContain('/healthz');
    // No curl in the slim image.
    expect(health?.args).toMatch(/CMD \["node", "-e", .*fetch\(/);
  });

  it('keeps secrets, local databases and node_modules out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['.env', 'node_modules', 'data', '*.db', 'src/generated']) expect(ignored).toContain(p);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as {
    services: Record<string, any>;
    volumes: Record<string, unknown>;
  };
  const qm = compose.services.quartermaster;
  const db = compose.services.db;

  it('runs Quartermaster from the Dockerfile on PostgreSQL, once the database is healthy', () => {
    expect(qm.build).toBe('.');
    expect(qm.environment.DATABASE_URL).toMatch(/^postgresql:\/\/quartermaster:.+@db:5432\/quartermaster$/);
    expect(qm.depends_on.db.condition).toBe('service_healthy');
    expect(qm.command).toBeUndefined(); // the image's CMD: the supervisor command
  });

  it('gives PostgreSQL a health check, a named volume and a required password', () => {
    expect(db.image).toMatch(/^postgres:/);
    expect(db.healthcheck.test.join(' ')).toContain('pg_isready');
    const [volume, mount] = String(db.volumes[0]).split(':');
    expect(mount).toBe('/var/lib/postgresql/data');
    expect(compose.volumes).toHaveProperty(volume!);
    expect(db.environment.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
  });
});

describe('deploy/quartermaster.service', () => {
  const unit = read('deploy/quartermaster.service');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

  it('runs the supervisor command as a dedicated user, restarts on failure, reads an environment file', () => {
    expect(value('ExecStart')).toMatch(/^\/usr\/bin\/node \S*bin\/quartermaster\.mjs start$/);
    expect(value('User')).toBe('quartermaster');
    expect(value('Restart')).toBe('on-failure');
    expect(value('EnvironmentFile')).toBeDefined();
    // Longer than the 10 s Quartermaster allows itself to shut down.
    expect(Number(value('TimeoutStopSec'))).toBeGreaterThan(10);
  });
});
