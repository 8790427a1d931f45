/**
 * An Admin API call slower than the execution lease must not make an approved action run twice: the runner
 * renews its lease while the executor works, so neither the outbox job nor another replica takes the request
 * over; and a runner whose claim was taken over anyway (a frozen process, a clock jump) finds its finish fenced
 * off and reports nothing a second time. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { fileCard, slackDms } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  expires_after: 24h
kinds:
  member.role: { quorum: 1 }
`;

let t: TestApp;
const clock = new TestClock();
const userId = (email: string) => t.sim.state.userByEmail(email)!.id;
const roleUpdates = (email: string) =>
  t.sim.requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/users/${userId(email)}`);
const okRoleUpdates = (email: string) => roleUpdates(email).filter((r) => r.status === 200);
const executions = async (id: string) =>
  (await t.qm.store.audit.list({ limit: 200 })).entries.filter(
    (e) => e.action === 'execute member.role' && e.options.request === id,
  );
const dmsTo = (user: string) => slackDms(t, user);

/** Files `members role <email> developer` as bob, injects a 2.5 s delay on the role update, approves as alice. */
async function fileAndApprove(email: string): Promise<{ card: FakeSlackMessage; id: string }> {
  const { card, id } = await fileCard(t, `members role ${email} developer reason:"slow api"`);
  // Slower than the 1 s lease: the Admin API holds the role update 2.5 s, then applies it.
  t.sim.faults.inject({ status: 0, delayMs: 2500, method: 'POST', path: `/v1/organizations/users/${userId(email)}` });
  const click = await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(card).Approve!, message: card });
  expect(click.status).toBe(200);
  // The kicked runner has claimed the request and is waiting for the (delayed) role update.
  await waitFor(() => roleUpdates(email).some((c) => c.status === null) || undefined, 5000);
  return { card, id };
}

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock, approvalLeaseMs: 1000 });
});
afterAll(async () => {
  await t?.close();
});

describe('execution lease', () => {
  it('a role update slower than the lease is sent once: the lease is renewed, other runners find nothing to claim', async () => {
    const email = 'dave@example.com';
    const { card, id } = await fileAndApprove(email);
    // Past the original 1 s lease while the update is still in flight; two runners (the outbox job, another
    // replica) look for work at the same time.
    await new Promise((r) => setTimeout(r, 1300));
    expect((await t.qm.store.approvals.get(id))!.status).toBe('executing');
    const [a, b] = await Promise.all([t.qm.services.approvals.runDue(), t.qm.services.approvals.runDue()]);
    await t.qm.services.approvals.idle();

    expect(okRoleUpdates(email)).toHaveLength(1);
    expect(await executions(id)).toHaveLength(1);
    expect(a + b).toBe(0);
    expect((await t.qm.store.approvals.get(id))!).toMatchObject({ status: 'done', attempts: 1 });
    await waitFor(() => /Done:/.test(visibleText(card)) || undefined);
    expect(visibleText(card)).toContain(`${email} is now \`developer\``);
    expect(t.sim.state.userByEmail(email)!.role).toBe('developer');
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes('Done:') && m.includes(email)) || undefined);
  }, 20_000);

  it('a runner whose claim was taken over (its clock fell behind) reports nothing: one audit entry, one DM', async () => {
    const email = 'erin@example.com';
    const { card, id } = await fileAndApprove(email);
    // Everyone else's clock is now past the lease, before the stalled runner renewed it: another runner takes
    // the request over. The executor re-reads the role (not changed yet: the first update is still held).
    // (A renewal tick landing between the jump and the claim moves the lease along with it: jump again.)
    let claimed = 0;
    for (let i = 0; i < 5 && claimed === 0; i++) {
      clock.advance(5000);
      claimed = await t.qm.services.approvals.runDue();
    }
    expect(claimed).toBe(1);
    expect((await t.qm.store.approvals.get(id))!).toMatchObject({ status: 'done', attempts: 2 });
    // Now the first runner's update lands; its finish is fenced off.
    await t.qm.services.approvals.idle();
    await waitFor(() => okRoleUpdates(email).length === 2 || undefined, 5000);

    expect(await executions(id)).toHaveLength(1);
    expect((await t.qm.store.approvals.get(id))!).toMatchObject({ status: 'done', attempts: 2 });
    expect(t.sim.state.userByEmail(email)!.role).toBe('developer');
    await waitFor(() => /Done:/.test(visibleText(card)) || undefined);
    expect(dmsTo('UBOB').filter((m) => m.includes('Done:') && m.includes(email))).toHaveLength(1);
    expect(t.logs.some((l) => l.includes(id) && l.includes('execution lease lost'))).toBe(true);
  }, 20_000);

  it('store: renew, retry and finish hold only for the claim that is current', async () => {
    const store = t.qm.store.approvals;
    const now = clock.now();
    const base = (await store.get((await store.list({ limit: 1 }))[0]!.id))!;
    const r = await store.create({
      kind: 'member.role',
      status: 'approved',
      requester: base.requester,
      workspaceId: null,
      workspaceName: null,
      payload: { note: 'fence drill' },
      reason: null,
      summary: 'fence drill',
      quorum: 1,
      approvers: {},
      policySource: 'test',
      createdAt: now,
      expiresAt: new Date(now.getTime() + 3600_000),
    });
    const first = (await store.claimExecution(now, 1000))!;
    expect(first).toMatchObject({ id: r.id, status: 'executing', attempts: 1 });
    expect(await store.renewExecutionLease(r.id, 1, new Date(now.getTime() + 2000))).toBe(true);
    expect(await store.claimExecution(new Date(now.getTime() + 1500), 1000)).toBeNull();
    // The lease lapses; a second runner claims it.
    const second = (await store.claimExecution(new Date(now.getTime() + 2500), 1000))!;
    expect(second).toMatchObject({ id: r.id, status: 'executing', attempts: 2 });
    const done = { status: 'done' as const, result: { message: 'ok' }, error: null, at: now };
    expect(await store.renewExecutionLease(r.id, 1, new Date(now.getTime() + 9000))).toBe(false);
    expect(await store.retryExecution(r.id, 1, now, 'late')).toBe(false);
    expect(await store.finishExecution(r.id, 1, done)).toBeNull();
    expect(await store.finishExecution(r.id, 2, done)).toMatchObject({ status: 'done', result: { message: 'ok' } });
    // Finished: nobody's claim holds any more.
    expect(await store.finishExecution(r.id, 2, { ...done, status: 'failed', error: 'x' })).toBeNull();
    expect(await store.retryExecution(r.id, 2, now, 'late')).toBe(false);
    expect((await store.get(r.id))!).toMatchObject({ status: 'done', error: null, leaseUntil: null });
  });
});
