/** Filing requests and clicking their cards on the fake Slack, as the approval tests all need to. */
import { expect } from 'vitest';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import type { TestApp } from './app.js';

/** Runs a request command and returns the card the bot posted for it, with the request id. */
export async function fileCard(
  t: TestApp,
  text: string,
  user = 'UBOB',
  channel = 'C0GENERAL',
): Promise<{ card: FakeSlackMessage; id: string }> {
  const before = new Set(t.slack.messages.keys());
  const r = await t.slack.command(t.url, text, user);
  expect(visibleText(r.reply)).toContain('Posted in this channel');
  const card = await waitFor(() =>
    [...t.slack.messages.values()].find((m) => !before.has(m.ts) && m.channel === channel),
  );
  const id = /Request ([0-9A-Z]{8})/.exec(visibleText(card))![1]!;
  return { card, id };
}

/**
 * Clicks a button of the card as first posted (later versions may have none); resolves with the clicker's
 * private notice, or an empty message once the card changed without one.
 */
export async function clickCard(
  t: TestApp,
  user: string,
  card: FakeSlackMessage,
  label: 'Approve' | 'Deny',
): Promise<any> {
  const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
  const revisions = card.history.length;
  const r = await t.slack.click(t.url, { user, actionId: t.slack.buttons(original)[label]!, message: card });
  const notice = () => t.slack.responses.find((x) => x.id === r.responseId)?.body;
  await waitFor(() => notice() ?? (card.history.length > revisions || undefined), 5000);
  // A card edit can come just before the private notice of the same click: give the notice a moment.
  return notice() ?? (await waitFor(notice, 300).catch(() => ({ text: '' })));
}

/** The text of every DM the bot sent to a Slack user. */
export function slackDms(t: TestApp, user: string): string[] {
  return [...t.slack.messages.values()].filter((m) => m.channel === `D${user}`).map((m) => visibleText(m));
}
