/**
 * SLACK_ALLOWED_TEAMS applies in every mode, not only to the OAuth install: with one bot token over HTTP and in
 * Socket Mode, a command or a button click from a workspace not listed is refused with one sentence, and nothing
 * runs (no audit entry of a run, no Admin API call). Real Bolt, correctly signed requests, the fake Slack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_TOKEN, visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { fileCard } from '../support/slack-cards.js';

const FOREIGN = { id: 'T0FOREIGN', domain: 'foreign' };
const REFUSAL = 'This Quartermaster serves only its own Slack workspaces; nothing was run.';

describe('HTTP mode with one bot token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { SLACK_ALLOWED_TEAMS: 'T0QM' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves a command from a listed workspace', async () => {
    const r = await t.slack.command(t.url, 'whoami', 'UALICE');
    expect(r.status).toBe(200);
    expect(visibleText(r.reply)).toContain('alice@example.com');
  });

  it('refuses a command from another workspace: one sentence, nothing run, a warning logged', async () => {
    // Let anything the first command started in the background (a directory refresh) finish first.
    await new Promise((res) => setTimeout(res, 300));
    const adminCallsBefore = t.sim.requests.length;
    const sentAt = new Date();
    const r = await t.slack.command(t.url, 'whoami', 'UALICE', { team: FOREIGN });
    expect(r.status).toBe(200);
    expect(r.reply.response_type).toBe('ephemeral');
    expect(visibleText(r.reply)).toBe(REFUSAL);
    await new Promise((res) => setTimeout(res, 300));
    expect((await t.qm.store.audit.list({ limit: 50 })).entries.filter((e) => e.at >= sentAt)).toEqual([]);
    expect(t.sim.requests.slice(adminCallsBefore).map((q) => `${q.method} ${q.path}`)).toEqual([]);
    expect(t.logs.join('\n')).toMatch(/slack request refused: workspace not in SLACK_ALLOWED_TEAMS/);
    expect(t.logs.join('\n')).toContain('T0FOREIGN');
  });

  it('refuses a button click from another workspace and leaves the card as it was', async () => {
    const { card } = await fileCard(t, 'members role dave@example.com developer', 'UBOB');
    const revisions = card.history.length;
    const clickedAt = new Date();
    const r = await t.slack.click(t.url, {
      user: 'UALICE',
      actionId: t.slack.buttons(card).Approve!,
      message: card,
      team: FOREIGN,
    });
    expect(r.status).toBe(200);
    const notice = await waitFor(() => t.slack.responses.find((x) => x.id === r.responseId)?.body);
    expect(visibleText(notice)).toBe(REFUSAL);
    await new Promise((res) => setTimeout(res, 300));
    expect(card.history.length).toBe(revisions);
    // The filing's own entry may land after its reply; the refused click leaves none.
    const entries = (await t.qm.store.audit.list({ limit: 50 })).entries;
    expect(entries.filter((e) => e.actorId === 'UALICE' && e.at >= clickedAt)).toEqual([]);
  });

  it('refuses a click in a listed workspace by a Slack Connect user from another one', async () => {
    const { card } = await fileCard(t, 'members role carol@example.com developer', 'UBOB');
    const revisions = card.history.length;
    const r = await t.slack.click(t.url, {
      user: 'UEXT',
      actionId: t.slack.buttons(card).Approve!,
      message: card,
      userTeamId: 'T0PARTNER',
    });
    const notice = await waitFor(() => t.slack.responses.find((x) => x.id === r.responseId)?.body);
    expect(visibleText(notice)).toBe(REFUSAL);
    await new Promise((res) => setTimeout(res, 300));
    expect(card.history.length).toBe(revisions);
  });
});

describe('Socket Mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '', SLACK_ALLOWED_TEAMS: 'T0QM' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves a listed workspace and refuses another', async () => {
    expect(visibleText((await t.slack.socketCommand('whoami', 'UALICE')).reply)).toContain('alice@example.com');
    const adminCallsBefore = t.sim.requests.length;
    const { ack, reply } = await t.slack.socketCommand('whoami', 'UALICE', FOREIGN);
    expect(ack.envelope_id).toMatch(/^env-/);
    expect(visibleText(reply)).toBe(REFUSAL);
    expect(t.sim.requests.length).toBe(adminCallsBefore);
  });
});
