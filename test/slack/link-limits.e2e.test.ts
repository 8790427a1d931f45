/**
 * `/qm link email:…` must not let an unlinked chat user probe who is a member of the organization: the same
 * answer for any email, no Admin API lookup per try, a few tries an hour, one pending request per user and a
 * cap per workspace. Only the admins' card (in the approvers' channel) says whether the email matched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LINK_ATTEMPTS_LIMIT, MAX_PENDING_LINK_REQUESTS } from '../../src/core/identity/link-requests.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';

const clock = new TestClock();
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ clock, policy: 'version: 1\nkinds:\n  link: { channels: { slack: C0ADMINS } }\n' });
  for (const id of ['UPROBE1', 'UPROBE2', 'UPROBE3', 'UPROBE4', 'URATE', 'UTWICE', 'UFULL']) {
    t.slack.addUser({ id, name: id.toLowerCase() });
  }
  t.slack.addUser({ id: 'UOUTSIDER', name: 'outsider', email: 'outsider@example.com' });
});
afterAll(async () => {
  await t?.close();
});

const run = (text: string, user: string) => t.slack.command(t.url, text, user);
const newMessages = (before: number) => [...t.slack.messages.values()].slice(before);
/** What the requester reads, with the email and their own mention taken out so two answers can be compared. */
const neutral = (text: string, email: string, user: string) => text.replaceAll(email, 'EMAIL').replaceAll(user, 'USER');
const lookups = (email: string) =>
  t.sim.requests.filter((r) => r.path.endsWith('/users') && String(r.query.email ?? '') === email);

it('answers a member email and a non-member email alike, without asking the Admin API; only the admins see which', async () => {
  const before = t.slack.messages.size;
  const member = await run('link email:erin@example.com', 'UPROBE1');
  const stranger = await run('link email:nobody@example.com', 'UPROBE2');
  const a = visibleText(member.reply);
  const b = visibleText(stranger.reply);
  expect(a).toContain('Your request to act as *erin@example.com* was sent to the org admins');
  expect(a).toContain('you will get a direct message when it is decided');
  expect(neutral(a, 'erin@example.com', 'UPROBE1')).toBe(neutral(b, 'nobody@example.com', 'UPROBE2'));
  expect(member.reply.response_type).toBe(stranger.reply.response_type);
  expect(lookups('erin@example.com')).toEqual([]);
  expect(lookups('nobody@example.com')).toEqual([]);

  // The cards went to the approvers' channel, not where the requester typed; there they say whether it matched.
  const cards = await waitFor(() => {
    const posted = newMessages(before);
    return posted.length === 2 ? posted : undefined;
  });
  expect(cards.map((c) => c.channel)).toEqual(['C0ADMINS', 'C0ADMINS']);
  const [memberCard, strangerCard] = cards as [(typeof cards)[0], (typeof cards)[0]];
  expect(visibleText(memberCard)).toContain('Matches the org member *erin@example.com*');
  expect(visibleText(strangerCard)).toContain('No org member has this email in the synced directory');

  // Approving the stranger's request links nothing and denies it; the requester hears only "not approved".
  const click = await t.slack.click(t.url, {
    user: 'UALICE',
    actionId: t.slack.buttons(strangerCard).Approve!,
    message: strangerCard,
  });
  const notice = await waitFor(() => t.slack.responses.find((x) => x.id === click.responseId)?.body);
  expect(visibleText(notice)).toContain('No member of the Anthropic organization has the email `nobody@example.com`');
  expect(visibleText(strangerCard)).toContain('Denied by alice@example.com');
  expect(await t.qm.store.links.find('slack', t.slack.team.id, 'UPROBE2')).toBeNull();
  const dm = await waitFor(() => [...t.slack.messages.values()].find((m) => m.channel === 'DUPROBE2'));
  expect(visibleText(dm)).toContain('Your request to act as *nobody@example.com* was not approved.');

  await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(memberCard).Approve!, message: memberCard });
  const approvedDm = await waitFor(() => [...t.slack.messages.values()].find((m) => m.channel === 'DUPROBE1'));
  expect(visibleText(approvedDm)).toContain('was approved');
  expect((await t.qm.store.links.find('slack', t.slack.team.id, 'UPROBE1'))?.email).toBe('erin@example.com');
});

it('when the card has to go to the channel of the request, it reads the same for any email', async () => {
  t.slack.channelsWithoutBot.add('C0ADMINS');
  try {
    const before = t.slack.messages.size;
    const member = await run('link email:dave@example.com', 'UPROBE3');
    const stranger = await run('link email:nobody.else@example.com', 'UPROBE4');
    expect(neutral(visibleText(member.reply), 'dave@example.com', 'UPROBE3')).toBe(
      neutral(visibleText(stranger.reply), 'nobody.else@example.com', 'UPROBE4'),
    );
    const cards = await waitFor(() => {
      const posted = newMessages(before);
      return posted.length === 2 ? posted : undefined;
    });
    expect(cards.map((c) => c.channel)).toEqual(['C0GENERAL', 'C0GENERAL']);
    expect(neutral(visibleText(cards[0]), 'dave@example.com', 'UPROBE3')).toBe(
      neutral(visibleText(cards[1]), 'nobody.else@example.com', 'UPROBE4'),
    );
    expect(visibleText(cards[0])).not.toMatch(/Matches|No org member/);
  } finally {
    t.slack.channelsWithoutBot.delete('C0ADMINS');
  }
});

it(`refuses the ${LINK_ATTEMPTS_LIMIT + 1}th try within an hour, saying when to try again; the limit is kept in the database`, async () => {
  const replies: string[] = [];
  for (let i = 0; i < LINK_ATTEMPTS_LIMIT + 1; i++) {
    replies.push(visibleText((await run(`link email:probe${i}@example.com`, 'URATE')).reply));
  }
  expect(replies[0]).toContain('was sent to the org admins');
  for (const r of replies.slice(0, LINK_ATTEMPTS_LIMIT)) expect(r).not.toContain('Try again in');
  expect(replies[LINK_ATTEMPTS_LIMIT]).toContain(
    `You can ask to be linked ${LINK_ATTEMPTS_LIMIT} times an hour, and you have. Try again in 60 minutes.`,
  );
  expect(lookups(`probe${LINK_ATTEMPTS_LIMIT}@example.com`)).toEqual([]);

  clock.advance(45 * 60_000);
  expect(visibleText((await run('link email:later@example.com', 'URATE')).reply)).toContain('Try again in 15 minutes.');
  clock.advance(16 * 60_000);
  expect(visibleText((await run('link email:later@example.com', 'URATE')).reply)).not.toContain('Try again in');
  const denied = (await t.qm.store.audit.list({ limit: 100 })).entries.filter(
    (e) => e.actorId === 'URATE' && e.errorCode === 'RATE_LIMITED',
  );
  expect(denied.map((e) => e.outcome)).toEqual(['denied', 'denied']);
});

it('refuses a second pending request from the same person, and posts no second card', async () => {
  const first = await run('link email:erin@example.com', 'UTWICE');
  expect(visibleText(first.reply)).toContain('was sent to the org admins');
  const before = t.slack.messages.size;
  const second = await run('link email:carol@example.com', 'UTWICE');
  expect(visibleText(second.reply)).toContain(
    'You already have a link request waiting for the org admins (to act as *erin@example.com*)',
  );
  await new Promise((r) => setTimeout(r, 200));
  expect(t.slack.messages.size).toBe(before);
});

it(`accepts at most ${MAX_PENDING_LINK_REQUESTS} pending link requests per workspace`, async () => {
  const staleBefore = new Date(clock.now().getTime() - 86_400_000);
  for (let i = 0; ; i++) {
    const r = await t.qm.store.linkRequests.create(
      {
        platform: 'slack',
        teamId: t.slack.team.id,
        userId: `UFILL${i}`,
        email: `fill${i}@example.com`,
        orgUserId: null,
        requesterKey: `slack:${t.slack.team.id}:UFILL${i}`,
      },
      { staleBefore, maxPendingPerTeam: MAX_PENDING_LINK_REQUESTS, maxPendingPerPlatform: 1000 },
    );
    if ('refused' in r) break;
  }
  const before = t.slack.messages.size;
  const r = await run('link email:erin@example.com', 'UFULL');
  expect(visibleText(r.reply)).toContain(
    `${MAX_PENDING_LINK_REQUESTS} link requests here are already waiting for the org admins. Try again later, or ask an org admin to link you.`,
  );
  await new Promise((r) => setTimeout(r, 200));
  expect(t.slack.messages.size).toBe(before);
});

it('looks a Slack email that is not in the synced directory up in the Admin API once, not on every command', async () => {
  for (let i = 0; i < 3; i++) {
    expect(visibleText((await run('whoami', 'UOUTSIDER')).reply)).toContain(
      'No member of the Anthropic organization has the email outsider@example.com',
    );
  }
  expect(lookups('outsider@example.com')).toHaveLength(1);
});
