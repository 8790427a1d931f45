/**
 * Crash recovery, from outside: the bot runs as a real process (`node bin/quartermaster.mjs start`), a request
 * is approved through signed Slack requests, the process is killed with SIGKILL while the approved action is
 * in flight (or approved but not yet sent), and a fresh process on the same database finishes the job once:
 * the execution lease (QM_APPROVAL_LEASE_SECONDS=2) lapses, the new runner claims the request, the idempotent
 * executor reads the member's current role first, and the card and the requester are told it is done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/anthropic/simulator/index.js';
import type { Store } from '../../src/core/ports/store.js';
import { openStore } from '../../src/store/index.js';
import { BOT_TOKEN, FakeSlack, type FakeSlackMessage, SIGNING_SECRET, visibleText, waitFor } from '../fakes/slack.js';
import { ADMIN_KEY, writePolicy } from '../support/app.js';
import { createTestDatabaseUrl } from '../support/db.js';
import { type BotProcess, startBotProcess, stopBotProcess } from '../support/process.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
kinds:
  member.role: { quorum: 1 }
`;

let sim: Simulator;
let slack: FakeSlack;
let db: { url: string; drop(): Promise<void> };
let store: Store;
let policyFile: string;

let bot: BotProcess | null = null;

const startBot = () =>
  startBotProcess(
    ['node', 'bin/quartermaster.mjs', 'start'],
    {
      DATABASE_URL: db.url,
      ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
      ANTHROPIC_BASE_URL: sim.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      QM_POLICY: policyFile,
      QM_APPROVAL_LEASE_SECONDS: '2',
    },
    30_000,
  );

/** SIGKILL: no shutdown hook runs, nothing is flushed, the execution lease stays in the database. */
const kill = (b: BotProcess) => stopBotProcess(b, 'SIGKILL');

const userId = (email: string) => sim.state.userByEmail(email)!.id;
const calls = (method: string, email: string) =>
  sim.requests.filter((r) => r.method === method && r.path === `/v1/organizations/users/${userId(email)}`);
/**
 * Reads the request as the bot wrote it. The test's own connection shares the SQLite file with the bot, whose
 * start-up (migrations, a full directory sync) can hold the write lock a while: a busy read is tried again.
 */
async function request(id: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await store.approvals.get(id))!;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
const status = async (id: string) => (await request(id)).status;

async function fileAndApprove(
  member: string,
  fault: { method: 'GET' | 'POST' },
): Promise<{ id: string; card: FakeSlackMessage }> {
  const before = new Set(slack.messages.keys());
  const r = await slack.command(bot!.url, `members role ${member} developer reason:"crash drill"`, 'UBOB');
  expect(visibleText(r.reply)).toContain('Posted in this channel');
  const card = await waitFor(() =>
    [...slack.messages.values()].find((m) => !before.has(m.ts) && m.channel === 'C0GENERAL'),
  );
  const id = /Request ([0-9A-Z]{8})/.exec(visibleText(card))![1]!;
  // The Admin API holds the request 5 s before answering: long enough to kill the runner mid-call.
  sim.faults.inject({
    status: 0,
    delayMs: 5000,
    method: fault.method,
    path: `/v1/organizations/users/${userId(member)}`,
  });
  const click = await slack.click(bot!.url, { user: 'UALICE', actionId: slack.buttons(card).Approve!, message: card });
  expect(click.status).toBe(200);
  return { id, card };
}

/** What the restarted bot must have done: done once, the role set, the card and the requester told. */
async function expectDoneOnce(id: string, member: string, card: FakeSlackMessage) {
  // What the approvers see first: the card turns Done; then the database agrees.
  await waitFor(() => /Done:/.test(visibleText(card)) || undefined, 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}: the card never said Done. Bot output:\n${bot!.output().slice(-4000)}`);
  });
  expect(await status(id)).toBe('done');
  expect(sim.state.userByEmail(member)!.role).toBe('developer');
  expect(calls('POST', member).filter((c) => c.status === 200)).toHaveLength(1);
  expect(visibleText(card)).toContain(`${member} is now \`developer\``);
  expect(slack.buttons(card)).toEqual({});
  await waitFor(
    () =>
      [...slack.messages.values()].some(
        (m) => m.channel === 'DUBOB' && visibleText(m).includes('Done:') && visibleText(m).includes(member),
      ) || undefined,
    5000,
  );
  expect((await request(id)).attempts).toBe(2);
}

beforeAll(async () => {
  sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
  slack = await new FakeSlack().start();
  slack
    .addUser({ id: 'UALICE', name: 'alice', email: 'alice@example.com' })
    .addUser({ id: 'UBOB', name: 'bob', email: 'bob@example.com' });
  db = await createTestDatabaseUrl();
  store = await openStore(db.url);
  policyFile = writePolicy(POLICY);
  bot = await startBot();
}, 60_000);

afterAll(async () => {
  await stopBotProcess(bot);
  await store?.close();
  await slack?.stop();
  await sim?.close();
  await db?.drop();
});

describe('kill -9 during an approved execution, then restart', () => {
  it('killed while the role update is in flight: the restarted bot re-reads the role and updates it once', async () => {
    const member = 'dave@example.com';
    const { id, card } = await fileAndApprove(member, { method: 'POST' });
    // The simulator has received the update; the runner is waiting for the answer.
    await waitFor(() => calls('POST', member).some((c) => c.status === null) || undefined, 10_000);
    expect(await status(id)).toBe('executing');
    await kill(bot!);
    const sentBefore = sim.requests.length;
    // The dead runner's connection is gone: its update is never applied.
    expect(sim.state.userByEmail(member)!.role).not.toBe('developer');

    bot = await startBot();
    await expectDoneOnce(id, member, card);
    // The new runner read the current role before writing it (the executor is idempotent).
    const after = sim.requests.slice(sentBefore);
    const read = after.findIndex((r) => r.method === 'GET' && r.path === `/v1/organizations/users/${userId(member)}`);
    const write = after.findIndex(
      (r) => r.method === 'POST' && r.path === `/v1/organizations/users/${userId(member)}` && r.status === 200,
    );
    expect(read).toBeGreaterThanOrEqual(0);
    expect(write).toBeGreaterThan(read);
  }, 60_000);

  it('killed after the approval and before the update was sent: the restarted bot sends it once', async () => {
    const member = 'erin@example.com';
    const { id, card } = await fileAndApprove(member, { method: 'GET' });
    // Approved in the database and claimed by the runner, which is still reading the member: nothing sent yet.
    await waitFor(() => calls('GET', member).some((c) => c.status === null) || undefined, 10_000);
    expect(['approved', 'executing']).toContain(await status(id));
    expect(calls('POST', member)).toHaveLength(0);
    await kill(bot!);
    expect(calls('POST', member)).toHaveLength(0);

    bot = await startBot();
    await expectDoneOnce(id, member, card);
    expect(calls('POST', member)).toHaveLength(1);
  }, 60_000);
});
