/**
 * The member a request is about never votes on it: an approver cannot approve (or deny) a change of their own
 * role or workspace membership requested by someone else. The card says who the request is about and that
 * they cannot vote; the click is refused privately and changes nothing; another approver decides. Runs through
 * the real Bolt app on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { clickCard, fileCard } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin], users: [carol@example.com] }
  expires_after: 24h
  remind_before: 2h
`;

let t: TestApp;
const clock = new TestClock();
beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock });
});
afterAll(async () => {
  await t?.close();
});

const plain = (s: string) => s.replace(/[*`\u200B]/g, '');

it('an approver cannot vote on a promotion of themselves; another approver decides it', async () => {
  const { card, id } = await fileCard(t, 'members role carol@example.com developer reason:"needs keys"', 'UBOB');
  expect(plain(visibleText(card))).toContain('carol@example.com (cannot vote on it)');

  for (const label of ['Approve', 'Deny'] as const) {
    const notice = await clickCard(t, 'UCAROL', card, label);
    expect(visibleText(notice)).toContain('You cannot vote on this request: it is about you (carol@example.com)');
  }
  expect(await t.qm.store.approvals.votes(id)).toHaveLength(0);
  expect((await t.qm.store.approvals.get(id))!.status).toBe('pending');
  expect(t.sim.state.userByEmail('carol@example.com')!.role).toBe('billing');

  await clickCard(t, 'UALICE', card, 'Approve');
  await waitFor(async () => ((await t.qm.store.approvals.get(id))!.status === 'done' ? true : undefined), 10_000);
  expect(t.sim.state.userByEmail('carol@example.com')!.role).toBe('developer');
});

it('the subject is not reminded to decide it either', async () => {
  await fileCard(t, 'workspaces add-member research carol@example.com workspace_user', 'UBOB');
  // An hour before expiry: the reminder goes to the approvers, except the subject.
  clock.advance(23 * 3_600_000);
  const dmsBefore = (user: string) => [...t.slack.messages.values()].filter((m) => m.channel === `D${user}`).length;
  const carol = dmsBefore('UCAROL');
  const alice = dmsBefore('UALICE');
  await t.qm.services.approvals.remindDue();
  expect(dmsBefore('UALICE')).toBeGreaterThan(alice);
  expect(dmsBefore('UCAROL')).toBe(carol);
});
