/** `admins_act_directly`: an org admin's own request runs at once, with no card, and is still audited. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText, waitFor } from '../fakes/slack.js';
import { auditEntry, startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ policy: 'version: 1\ndefaults:\n  admins_act_directly: true\n' });
});
afterAll(async () => {
  await t?.close();
});

it("runs an admin's request at once and audits it; a developer's still needs approval", async () => {
  const cardsBefore = t.slack.messages.size;
  const r = await t.slack.command(t.url, 'members role dave@example.com developer reason:"incident"', 'UALICE');
  expect(visibleText(r.reply)).toContain('running now');
  expect(visibleText(r.reply)).toContain('recorded in the audit log');
  await waitFor(() => t.sim.state.userByEmail('dave@example.com')!.role === 'developer' || undefined, 10_000);
  const request = await waitFor(async () => {
    const [latest] = await t.qm.store.approvals.list({ limit: 1 });
    return latest?.status === 'done' ? latest : undefined;
  });
  expect(request.kind).toBe('member.role');
  expect(request.decidedBy).toBe(t.sim.state.userByEmail('alice@example.com')!.id);
  // Entries are written just after the answers they record: wait for them.
  expect((await auditEntry(t, (e) => e.action === 'members role' && e.actorId === 'UALICE')).outcome).toBe('allowed');
  expect(await auditEntry(t, (e) => e.action === 'execute member.role')).toMatchObject({
    outcome: 'allowed',
    platform: 'system',
  });
  expect([...t.slack.messages.values()].slice(cardsBefore).filter((m) => m.channel === 'C0GENERAL')).toHaveLength(0);

  const dev = await t.slack.command(t.url, 'members role erin@example.com developer', 'UBOB');
  expect(visibleText(dev.reply)).toContain('Posted in this channel');
  expect((await t.qm.store.approvals.list({ limit: 1 }))[0]!.status).toBe('pending');
});
