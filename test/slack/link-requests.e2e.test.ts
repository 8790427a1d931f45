/**
 * Link requests on Slack (for people whose email Slack does not share): a card with Approve/Deny posted
 * to the channel; a click is re-checked server-side against the clicker's current role; decided once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const run = (text: string, user: string) => t.slack.command(t.url, text, user);
const decisions = async () =>
  (await t.qm.store.audit.list({ limit: 200 })).entries.filter((e) => e.action === 'button link.decide');

it('a request card is posted, refuses non-admins and self-approval, is approved once, and the link works', async () => {
  const before = t.slack.messages.size;
  const r = await run('link email:erin@example.com', 'UNOMAIL');
  expect(r.status).toBe(200);
  const card = await waitFor(() => [...t.slack.messages.values()][before]);
  expect(card.channel).toBe('C0GENERAL');
  expect(visibleText(card)).toContain('asks to act as the Anthropic org member *erin@example.com*');
  const { Approve: approve, Deny: deny } = t.slack.buttons(card);
  expect(approve).toMatch(/^qm_/);
  expect(deny).toMatch(/^qm_/);
  expect(approve).not.toContain('erin');

  // A developer may not decide: told privately, card unchanged, audited as denied.
  const byBob = await t.slack.click(t.url, { user: 'UBOB', actionId: approve!, message: card });
  expect(byBob.status).toBe(200);
  const notice = await waitFor(() => t.slack.responses.find((x) => x.id === byBob.responseId)?.body);
  expect(visibleText(notice)).toContain('Only Anthropic org admins');
  expect(notice.replace_original).toBe(false);
  expect(card.history).toHaveLength(0);

  // The requester cannot approve their own request (even were they an admin): they are not linked yet.
  const bySelf = await t.slack.click(t.url, { user: 'UNOMAIL', actionId: approve!, message: card });
  await waitFor(() => t.slack.responses.find((x) => x.id === bySelf.responseId));
  expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UNOMAIL')).toBeNull();

  // Ten concurrent approvals from the admin: one decision, one link.
  await Promise.all(
    Array.from({ length: 10 }, () => t.slack.click(t.url, { user: 'UALICE', actionId: approve!, message: card })),
  );
  await waitFor(async () => (await decisions()).filter((d) => d.actorId === 'UALICE').length === 10 || undefined);
  const mine = (await decisions()).filter((d) => d.actorId === 'UALICE');
  expect(mine.filter((d) => d.outcome === 'allowed')).toHaveLength(1);
  expect(visibleText(card)).toMatch(/Approved by alice@example.com/);
  expect(t.slack.buttons(card)).toEqual({});

  const who = await run('whoami', 'UNOMAIL');
  expect(visibleText(who.reply)).toContain('erin@example.com');
  expect(visibleText(who.reply)).toContain('an org admin');

  // Deny after approval changes nothing.
  const late = await t.slack.click(t.url, { user: 'UALICE', actionId: deny!, message: card });
  const lateNotice = await waitFor(() => t.slack.responses.find((x) => x.id === late.responseId)?.body);
  expect(visibleText(lateNotice)).toContain('already approved');
  expect((await t.qm.store.links.find('slack', t.slack.team.id, 'UNOMAIL'))?.email).toBe('erin@example.com');
});

it('a forged button id is refused without touching anything', async () => {
  const card = [...t.slack.messages.values()][0]!;
  const r = await t.slack.click(t.url, { user: 'UALICE', actionId: 'qm_forged_0000000000000000', message: card });
  const notice = await waitFor(() => t.slack.responses.find((x) => x.id === r.responseId)?.body);
  expect(visibleText(notice)).toContain('no longer works');
});

it('an unknown email gets the same card as a member email (the requester learns nothing about membership)', async () => {
  const before = t.slack.messages.size;
  const r = await run('link email:nobody@example.com', 'UZED');
  expect(visibleText(r.reply)).toContain('Posted in this channel: Link request: nobody@example.com');
  const card = await waitFor(() => [...t.slack.messages.values()][before]);
  expect(visibleText(card)).toContain('<@UZED> asks to act as the Anthropic org member *nobody@example.com*');
});

it('admins link directly and unlink; others may not', async () => {
  const denied = await run('link email:dave@example.com user:<@UZED|zed>', 'UBOB');
  expect(visibleText(denied.reply)).toContain('Only Anthropic org admins can link other people');
  const ok = await run('link email:dave@example.com user:<@UZED|zed>', 'UALICE');
  expect(visibleText(ok.reply)).toContain('<@UZED> now acts as *dave@example.com*');
  expect((await t.qm.store.links.find('slack', t.slack.team.id, 'UZED'))?.method).toBe('admin');
  const un = await run('unlink user:<@UZED>', 'UALICE');
  expect(visibleText(un.reply)).toContain('is no longer linked');
  expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UZED')).toBeNull();
});

it('a guest cannot ask to be linked, and an operator link does not outlive the account being a guest', async () => {
  const before = t.slack.messages.size;
  const r = await run('link email:dave@example.com', 'UGUEST');
  expect(visibleText(r.reply)).toContain('Guest accounts cannot use Quartermaster');
  expect(t.slack.messages.size).toBe(before);

  // Linked by an operator more than an hour ago; the next command re-checks the Slack profile and refuses.
  const dave = (await t.qm.store.directory.findUserByEmail('dave@example.com'))!;
  const old = new Date(Date.now() - 2 * 3600_000);
  await t.qm.store.links.upsert({
    platform: 'slack',
    teamId: t.slack.team.id,
    userId: 'UGUEST',
    orgUserId: dave.id,
    email: dave.email,
    method: 'operator',
    linkedAt: old,
    refreshedAt: old,
  });
  const who = await run('keys list', 'UGUEST');
  expect(visibleText(who.reply)).toContain('Guest accounts cannot use Quartermaster');
  expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UGUEST')).toBeNull();
});
