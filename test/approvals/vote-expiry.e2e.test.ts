/**
 * A request past its expiry time cannot be approved, even before the expiry job has run: the click closes it
 * as expired (once), the card and the requester learn of it as they would from the job, and nothing runs.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { clickCard, fileCard, slackDms } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin, billing] }
  expires_after: 1h
  remind_before: 10m
kinds:
  member.role: { quorum: 1 }
`;

let t: TestApp;
const clock = new TestClock();
const userId = (email: string) => t.sim.state.userByEmail(email)!.id;
const roleUpdates = (email: string) =>
  t.sim.requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/users/${userId(email)}`);

const file = (text: string, user = 'UBOB') => fileCard(t, text, user);
const click = (user: string, card: FakeSlackMessage, label: 'Approve' | 'Deny') => clickCard(t, user, card, label);
const dmsTo = (user: string) => slackDms(t, user);

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock });
});
afterAll(async () => {
  await t?.close();
});

describe('a click after the expiry time', () => {
  it('closes the request as expired instead of approving it; card, requester and clicker are told', async () => {
    const email = 'dave@example.com';
    const { card, id } = await file(`members role ${email} developer reason:"late"`);
    const request = (await t.qm.store.approvals.get(id))!;
    // Past the expiry; the expiry job has not run.
    clock.advance(61 * 60_000);
    expect((await t.qm.store.approvals.get(id))!.status).toBe('pending');

    const notice = await click('UALICE', card, 'Approve');
    const expiredAt = request.expiresAt.toISOString().slice(0, 16).replace('T', ' ');
    expect(visibleText(notice)).toContain(`This request expired at ${expiredAt} UTC`);
    expect(await t.qm.store.approvals.get(id)).toMatchObject({ status: 'expired', decidedBy: null });
    expect(await t.qm.store.approvals.votes(id)).toHaveLength(0);
    await waitFor(() => /Expired/.test(visibleText(card)) || undefined, 5000);
    expect(t.slack.buttons(card)).toEqual({});
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes(`${id} expired without a decision`)) || undefined);

    // Nothing was queued or run, and the job finds nothing left to expire (the requester is told once).
    await t.qm.services.approvals.idle();
    expect(await t.qm.services.approvals.runDue()).toBe(0);
    expect(roleUpdates(email)).toHaveLength(0);
    expect(t.sim.state.userByEmail(email)!.role).not.toBe('developer');
    expect(await t.qm.services.approvals.expireDue()).toBe(0);

    // A later click (deny, this time) is told the same, and changes nothing.
    const again = await click('UCAROL', card, 'Deny');
    expect(visibleText(again)).toContain(`This request expired at ${expiredAt} UTC`);
    expect(dmsTo('UBOB').filter((m) => m.includes(`${id} expired`))).toHaveLength(1);
    expect((await t.qm.store.approvals.get(id))!.status).toBe('expired');
  });

  it('a click just before the expiry still counts', async () => {
    const email = 'erin@example.com';
    const { card, id } = await file(`members role ${email} developer`);
    clock.advance(59 * 60_000);
    const r = await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(card).Approve!, message: card });
    expect(r.status).toBe(200);
    await waitFor(async () => (await t.qm.store.approvals.get(id))!.status === 'done' || undefined, 5000);
    expect(t.sim.state.userByEmail(email)!.role).toBe('developer');
  });
});
