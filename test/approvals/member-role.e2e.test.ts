/**
 * The approval flow end to end on Slack, with a role change as the example: cards, quorum, deny, self-
 * approval, non-approvers, a role demoted before the click, API failures during execution, expiry, cancel,
 * time-boxed roles, and 50 concurrent clicks. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { auditEntry, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { clickCard, fileCard, slackDms } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  expires_after: 24h
  remind_before: 2h
kinds:
  member.role: { quorum: 2, max_duration: 30d }
`;

let t: TestApp;
const clock = new TestClock();
const run = (text: string, user: string) => t.slack.command(t.url, text, user);
const sim = () => t.sim;
const userId = (email: string) => sim().state.userByEmail(email)!.id;
const roleUpdates = (email: string) =>
  sim().requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/users/${userId(email)}`);

const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;

const file = (text: string, user = 'UBOB') => fileCard(t, text, user);
const click = (user: string, card: FakeSlackMessage, label: 'Approve' | 'Deny') => clickCard(t, user, card, label);
const dmsTo = (user: string) => slackDms(t, user);

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock });
});
afterAll(async () => {
  await t?.close();
});

describe('member.role with a quorum of 2', () => {
  it('refuses self-approval and non-approvers, waits for the second approval, executes once, reports everywhere', async () => {
    const { card, id } = await file('members role dave@example.com developer reason:"on call"');
    const text = visibleText(card);
    expect(text).toContain('Make dave@example.com developer');
    expect(text).toContain('on call');
    expect(text).toContain('2 approvals from org `admin`/`billing`');
    expect(text).toContain('Votes*: none yet');

    const self = await click('UBOB', card, 'Approve');
    expect(visibleText(self)).toContain('cannot decide your own request');
    const notApprover = await click('UDAVE', card, 'Approve');
    expect(visibleText(notApprover)).toContain('not an approver');

    await click('UALICE', card, 'Approve');
    await waitFor(() => /Votes\* \(1\/2\)/.test(visibleText(card)) || undefined);
    expect(await status(id)).toBe('pending');
    const again = await click('UALICE', card, 'Approve');
    expect(visibleText(again)).toContain('already voted');

    await click('UCAROL', card, 'Approve');
    await waitFor(async () => (await status(id)) === 'done' || undefined);
    await waitFor(() => /Done:/.test(visibleText(card)) || undefined);
    expect(visibleText(card)).toContain('dave@example.com is now `developer`');
    expect(t.slack.buttons(card)).toEqual({});
    expect(sim().state.userByEmail('dave@example.com')!.role).toBe('developer');
    expect(roleUpdates('dave@example.com')).toHaveLength(1);
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes('Done:')) || undefined);
    expect(dmsTo('UBOB').some((m) => m.includes('was approved by carol@example.com'))).toBe(true);
  });

  it('a deny wins, and nothing is executed', async () => {
    const before = roleUpdates('erin@example.com').length;
    const { card, id } = await file('members role erin@example.com developer');
    await click('UALICE', card, 'Approve');
    await click('UCAROL', card, 'Deny');
    await waitFor(async () => (await status(id)) === 'denied' || undefined);
    await waitFor(() => /Denied by carol@example.com/.test(visibleText(card)) || undefined);
    const late = await click('UALICE', card, 'Approve');
    expect(visibleText(late)).toContain('already denied');
    expect(roleUpdates('erin@example.com').length).toBe(before);
  });

  it('an approver demoted between the request and the click is refused', async () => {
    const { card, id } = await file('members role erin@example.com billing');
    const clicked = new Date();
    sim().state.users.find((u) => u.email === 'carol@example.com')!.role = 'developer';
    try {
      const r = await click('UCAROL', card, 'Approve');
      expect(visibleText(r)).toContain('you are `developer`');
      expect(await t.qm.store.approvals.votes(id)).toHaveLength(0);
    } finally {
      sim().state.users.find((u) => u.email === 'carol@example.com')!.role = 'billing';
    }
    // This click's entry (written just after the answer), not an earlier vote of carol's.
    const audit = await auditEntry(
      t,
      (e) => e.action === 'button approval.vote' && e.actorId === 'UCAROL' && e.at >= clicked,
    );
    expect(audit).toMatchObject({ outcome: 'denied', errorCode: 'FORBIDDEN' });
  });

  it('admin cannot be requested: the API does not allow it', async () => {
    const r = await run('members role dave@example.com admin', 'UBOB');
    expect(visibleText(r.reply)).toContain('cannot make anyone an admin');
  });
});

describe('execution failures', () => {
  it('a 500 during execution is retried and the change is made exactly once', async () => {
    const { card, id } = await file('members role frank@example.com billing');
    sim().faults.inject({
      status: 500,
      times: 3,
      method: 'POST',
      path: `/v1/organizations/users/${userId('frank@example.com')}`,
    });
    await click('UALICE', card, 'Approve');
    await click('UCAROL', card, 'Approve');
    await waitFor(async () => (await status(id)) === 'done' || undefined, 15_000);
    const calls = roleUpdates('frank@example.com');
    expect(calls.filter((c) => c.status === 200)).toHaveLength(1);
    expect(calls.filter((c) => c.status === 500)).toHaveLength(3);
    expect((await t.qm.store.approvals.get(id))!.attempts).toBe(2);
    expect(sim().state.userByEmail('frank@example.com')!.role).toBe('billing');
  });

  it('a refusal (403) is not retried: reported on the card and to the requester', async () => {
    const { card, id } = await file('members role grace@example.com billing');
    sim().faults.inject({
      status: 403,
      times: 5,
      method: 'POST',
      path: `/v1/organizations/users/${userId('grace@example.com')}`,
    });
    await click('UALICE', card, 'Approve');
    await click('UCAROL', card, 'Approve');
    await waitFor(async () => (await status(id)) === 'failed' || undefined, 10_000);
    await waitFor(() => /but it failed/.test(visibleText(card)) || undefined);
    expect(visibleText(card)).toContain('refused this action (403)');
    expect(roleUpdates('grace@example.com').filter((c) => c.status === 403)).toHaveLength(1);
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes('could not be carried out')) || undefined);
    sim().faults.clear();
  });
});

describe('time', () => {
  it('cancel by the requester closes the card; later clicks change nothing', async () => {
    const { card, id } = await file('members role heidi@example.com billing');
    const r = await run(`requests cancel ${id}`, 'UBOB');
    expect(visibleText(r.reply)).toContain(`Request ${id} cancelled`);
    await waitFor(() => /Cancelled by bob@example.com/.test(visibleText(card)) || undefined);
    const late = await click('UALICE', card, 'Approve');
    expect(visibleText(late)).toContain('already cancelled');
    const mine = await run('requests list mine', 'UBOB');
    expect(visibleText(mine.reply)).toContain(`${id}\` · \`cancelled`);
  });

  it('pending requests remind approvers, then expire and tell the requester', async () => {
    const { card, id } = await file('members role ivan@example.com billing');
    clock.advance(23 * 3600_000);
    expect(await t.qm.services.approvals.remindDue()).toBeGreaterThanOrEqual(1);
    await waitFor(() => dmsTo('UALICE').some((m) => m.includes(`Reminder: request ${id}`)) || undefined);
    clock.advance(2 * 3600_000);
    expect(await t.qm.services.approvals.expireDue()).toBeGreaterThanOrEqual(1);
    expect(await status(id)).toBe('expired');
    await waitFor(() => /Expired/.test(visibleText(card)) || undefined);
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes(`${id} expired`)) || undefined);
  });

  it('a time-boxed role is reverted on schedule', async () => {
    const { card, id } = await file('members role judy@example.com billing for:2h');
    await click('UALICE', card, 'Approve');
    await click('UCAROL', card, 'Approve');
    await waitFor(async () => (await status(id)) === 'done' || undefined);
    expect(sim().state.userByEmail('judy@example.com')!.role).toBe('billing');
    const { revertExpiredElevations } = await import('../../src/core/approvals/grants.js');
    expect(await revertExpiredElevations(t.qm.services)).toBe(0);
    clock.advance(3 * 3600_000);
    expect(await revertExpiredElevations(t.qm.services)).toBe(1);
    expect(sim().state.userByEmail('judy@example.com')!.role).toBe('developer');
    expect(await revertExpiredElevations(t.qm.services)).toBe(0);
  });
});

describe('concurrency', () => {
  it('50 concurrent approve clicks from two approvers: one transition, one Admin API call', async () => {
    const { card, id } = await file('members role ken@example.com billing');
    const clicks = Array.from({ length: 50 }, (_, i) => click(i % 2 ? 'UALICE' : 'UCAROL', card, 'Approve'));
    await Promise.all(clicks);
    await waitFor(async () => (await status(id)) === 'done' || undefined, 15_000);
    await t.qm.services.approvals.idle();
    expect(await t.qm.store.approvals.votes(id)).toHaveLength(2);
    expect(roleUpdates('ken@example.com').filter((c) => c.status === 200)).toHaveLength(1);
    const transitions = (await t.qm.store.audit.list({ limit: 200 })).entries.filter(
      (e) => e.action === 'button approval.vote' && (e.message ?? '').includes(`${id} → approved`),
    );
    expect(transitions).toHaveLength(1);
  }, 30_000);
});
