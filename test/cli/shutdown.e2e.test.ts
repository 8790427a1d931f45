/**
 * The supervisor command, `node bin/quartermaster.mjs start`, as systemd or Docker stop it: SIGTERM (or SIGINT)
 * to that process stops it taking requests, closes adapters, scheduler and store, and exits 0, leaving the port
 * closed. (`npm start` does not reliably pass signals on, so it is not what a supervisor should run.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabaseUrl } from '../support/db.js';
import { type BotProcess, startBotProcess } from '../support/process.js';

let db: { url: string; drop(): Promise<void> };
const bots: BotProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabaseUrl();
});
afterAll(async () => {
  for (const b of bots) if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
  await db?.drop();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  it(`${signal} to the start process: exit 0, port closed`, async () => {
    const bot = await startBotProcess(['node', 'bin/quartermaster.mjs', 'start'], { DATABASE_URL: db.url }, 90_000);
    bots.push(bot);
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);

    const exited = new Promise<[number | null, string | null]>((r) =>
      bot.child.once('exit', (code, sig) => r([code, sig])),
    );
    // The node process only: no process-group signal, nothing forwards it for us.
    bot.child.kill(signal);
    const [code, sig] = await exited;
    expect(sig, bot.output()).toBeNull();
    expect(code, bot.output()).toBe(0);
    expect(bot.output()).toContain('"msg":"shutting down"');
    await expect(fetch(`${bot.url}/healthz`)).rejects.toThrow();
  }, 120_000);
}

it('killing the npm start process id stops the node process too (no orphan keeps serving)', async () => {
  const bot = await startBotProcess(['npm', 'start'], { DATABASE_URL: db.url }, 90_000);
  bots.push(bot);
  expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
  // npm's own pid only (not its process group), as `kill <pid>` does: npm and its `sh -c` go; before the fix
  // the node process was left serving as an orphan.
  bot.child.kill('SIGTERM');
  let closed = false;
  for (let i = 0; i < 100 && !closed; i++) {
    await new Promise((r) => setTimeout(r, 200));
    closed = await fetch(`${bot.url}/healthz`).then(
      () => false,
      () => true,
    );
  }
  expect(closed, bot.output()).toBe(true);
  expect(bot.output()).toContain('"msg":"shutting down"');
}, 120_000);
