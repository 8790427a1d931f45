/** Cards go to the approvers' channel the policy names; when the bot cannot post there, the card is not lost. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    policy:
      'version: 1\ndefaults:\n  channels: { slack: C0APPROVERS }\nkinds:\n  member.invite: { channels: { slack: C0NOTJOINED } }\n',
  });
  t.slack.channelsWithoutBot.add('C0NOTJOINED');
});
afterAll(async () => {
  await t?.close();
});

it("posts the card in the approvers' channel and tells the requester where it is", async () => {
  const r = await t.slack.command(t.url, 'members role dave@example.com developer', 'UBOB');
  expect(visibleText(r.reply)).toContain("The approval card is in the approvers' channel");
  const card = await waitFor(() => [...t.slack.messages.values()].find((m) => m.channel === 'C0APPROVERS'));
  expect(visibleText(card)).toContain('Make dave@example.com developer');
});

it('falls back to the channel of the request, saying why, when the bot is not in the approvers channel', async () => {
  const before = t.slack.messages.size;
  const r = await t.slack.command(t.url, 'members invite newbie@example.com developer', 'UBOB');
  expect(visibleText(r.reply)).toContain('Posted in this channel');
  const card = await waitFor(() => [...t.slack.messages.values()].slice(before).find((m) => m.channel === 'C0GENERAL'));
  expect(visibleText(card)).toContain(
    "Could not post this card in the approvers' channel (`C0NOTJOINED`): invite the bot there",
  );
  expect(t.slack.buttons(card).Approve).toMatch(/^qm_/);
  expect((await t.qm.store.approvals.list({ limit: 1 }))[0]!.status).toBe('pending');
});
