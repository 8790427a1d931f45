/**
 * The process-level last resort, in a real Node process: an unhandled rejection is logged (redacted) and the
 * process keeps running; an uncaught exception is logged (redacted) and the process exits with status 1.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { root } from '../support/process.js';

const SECRET = 'sk-ant-admin01-' + 'Zz9'.repeat(30) + 'AA';

function run(body: string) {
  const script = `
    const { createLogger } = await import('./src/log/logger.ts');
    const { installLastResort } = await import('./src/log/last-resort.ts');
    const logger = createLogger({ level: 'info', pretty: false, secrets: [${JSON.stringify(SECRET)}] });
    installLastResort(logger);
    ${body}
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('installLastResort', () => {
  it('logs an unhandled rejection without its secret and keeps the process running', () => {
    const r = run(`
      Promise.reject(new Error('upstream echoed ${SECRET}'));
      setTimeout(() => { console.log('still serving'); }, 200);
    `);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('unhandled promise rejection; still serving');
    expect(r.stdout).toContain('still serving');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('logs an uncaught exception without its secret and exits with status 1', () => {
    const r = run(`
      setTimeout(() => { throw new Error('thrown with ${SECRET}'); }, 10);
      setTimeout(() => { console.log('should not get here'); }, 2000);
    `);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('uncaught exception; exiting');
    expect(r.stdout).not.toContain('should not get here');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('writes the audit entries still pending (group commit) before it exits on an uncaught exception', async () => {
    const db = await createTestDatabase();
    try {
      // 30 commands answered within a few milliseconds: the first entry is written at once, the others wait for
      // the group commit's pace, and the exception comes while they wait.
      const script = `
        const { createLogger } = await import('./src/log/logger.ts');
        const { installLastResort } = await import('./src/log/last-resort.ts');
        const { openStore } = await import('./src/store/index.ts');
        const logger = createLogger({ level: 'info', pretty: false });
        const store = await openStore(process.env.DATABASE_URL);
        installLastResort(logger, { flush: () => store.audit.flush() });
        for (let i = 0; i < 30; i++) {
          store.audit.append({ platform: 'slack', teamId: 'T1', actorId: 'U1', orgUserId: null, actorEmail: null,
            action: 'whoami ' + i, options: {}, outcome: 'allowed', stage: 'render', errorCode: null, message: null,
            durationMs: 1 }).catch(() => {});
        }
        setImmediate(() => { throw new Error('a bug'); });
        setTimeout(() => console.log('should not get here'), 5000);
      `;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, DATABASE_URL: db.url },
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('uncaught exception; exiting');
      expect(r.stdout).not.toContain('should not get here');
      const { entries, total } = await db.store.audit.list({ limit: 100 });
      expect(total).toBe(30);
      expect(entries.map((e) => e.action)).toContain('whoami 29');
    } finally {
      await db.drop();
    }
  });
});
