/**
 * Enforced budgets end to end on Slack (real Bolt against the fake Slack, the Admin API simulator over HTTP):
 * crossing 100 % sets exactly the active keys in scope inactive (not other workspaces' keys, not keys already
 * inactive or archived; a key the API refuses to change is reported on the card), a non-approver's Re-enable is
 * refused and changes nothing, an approver's restores exactly the disabled keys, and a `reenable: next_period`
 * budget gets its keys back when the next period starts. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimApiKey } from '../../src/anthropic/simulator/index.js';
import { JOBS } from '../../src/core/jobs.js';
import type { Budget, BudgetInput } from '../../src/core/ports/limits.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';
import { costRow } from '../support/spend-rows.js';

const job = JOBS.find((j) => j.name === 'limits.check')!;
const clock = new TestClock();
const USD = 1_000_000_000n;
let t: TestApp;

const statuses = () => new Map(t.sim.state.apiKeys.map((k) => [k.id, t.sim.state.keyStatus(k)]));
const inChannel = (ch: string) => [...t.slack.messages.values()].filter((m) => m.channel === ch);
const keyPosts = () => t.sim.requests.filter((r) => r.method === 'POST' && r.path.includes('/api_keys/')).length;
const keyLists = () => t.sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/api_keys')).length;

async function budget(over: Partial<BudgetInput>): Promise<Budget> {
  const { budget } = await t.qm.store.limits.upsertBudget(
    {
      scope: 'workspace',
      targetId: '',
      targetName: '',
      workspaceId: '',
      amountNanos: 10n * USD,
      period: 'month',
      timezone: 'UTC',
      thresholds: [50, 100],
      enforce: true,
      reenable: 'manual',
      platform: 'slack',
      teamId: 'T0QM',
      channelId: 'C0ENFORCE',
      createdBy: 'user_alice',
      ...over,
    },
    clock.now(),
  );
  return budget;
}

/** Clicks Re-enable on the card as first posted; resolves with the clicker's private notice, if any. */
async function clickReenable(user: string, card: FakeSlackMessage): Promise<string> {
  const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
  const revisions = card.history.length;
  const r = await t.slack.click(t.url, { user, actionId: t.slack.buttons(original)['Re-enable']!, message: card });
  const notice = () => t.slack.responses.find((x) => x.id === r.responseId)?.body;
  await waitFor(() => notice() ?? (card.history.length > revisions || undefined), 5000);
  const body = notice() ?? (await waitFor(notice, 300).catch(() => null));
  return body ? visibleText(body) : '';
}

beforeAll(async () => {
  clock.set('2026-11-20T10:30:00Z');
  t = await startTestApp({ clock });
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com'); // admin
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com'); // developer
  await t.qm.store.spend.setSyncedFrom('costs', new Date('2026-10-01T00:00:00Z'), clock.now());
  await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-11-20T00:00:00Z'), clock.now());
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('budget enforcement', () => {
  let staging: string;
  let before: Map<string, string>;
  let active: SimApiKey[];
  let refused: SimApiKey;
  let card: FakeSlackMessage;
  let enforced: Budget;

  it('crossing 100 % sets exactly the active keys in scope inactive, reports a key it could not, once', async () => {
    staging = t.sim.state.workspaces.find((w) => w.name === 'staging')!.id;
    before = statuses();
    active = t.sim.state.apiKeys.filter((k) => k.scope_workspace_id === staging && before.get(k.id) === 'active');
    const untouchable = t.sim.state.apiKeys.filter(
      (k) => k.scope_workspace_id === staging && before.get(k.id) !== 'active',
    );
    expect(active.length).toBeGreaterThanOrEqual(3);
    expect(untouchable.length).toBeGreaterThanOrEqual(2); // inactive and archived keys of the same workspace
    refused = active[0]!;
    t.sim.faults.inject({ status: 403, method: 'POST', path: `/v1/organizations/api_keys/${refused.id}` });

    enforced = await budget({ targetId: staging, targetName: 'staging', workspaceId: staging });
    await t.qm.store.spend.replaceCosts(new Date('2026-11-02T00:00:00Z'), new Date('2026-11-03T00:00:00Z'), [
      costRow('2026-11-02', staging, 12n * USD),
    ]);
    expect(await job.run(t.qm.services)).toBe('1 budgets, 2 alerts, 0 back under, 0 resets, 1 enforced');

    const after = statuses();
    const disabled = active.filter((k) => k !== refused);
    for (const [id, status] of before) {
      const expected = disabled.some((k) => k.id === id) ? 'inactive' : status;
      expect(`${id}: ${after.get(id)}`).toBe(`${id}: ${expected}`);
    }
    const enforcement = (await t.qm.store.limits.enforcementFor(enforced.id, '2026-11'))!;
    expect([...enforcement.keyIds].sort()).toEqual(disabled.map((k) => k.id).sort());
    // The bot's own copy of the keys knows at once.
    const model = await t.qm.services.directory.read();
    for (const k of disabled) expect(model.apiKey(k.id)?.status).toBe('inactive');

    const posts = inChannel('C0ENFORCE');
    expect(posts).toHaveLength(1);
    card = posts[0]!;
    const text = visibleText(card);
    expect(text).toContain('its 50% and 100% thresholds');
    expect(text).toContain('120%');
    expect(text).toContain(`set ${disabled.length} keys inactive (not archived)`);
    for (const k of disabled) expect(text).toContain(k.name);
    expect(text).toContain(`Could not set inactive* (still active): *${refused.name}*`);
    expect(text).toContain('Permission denied');
    expect(Object.keys(t.slack.buttons(card))).toEqual(['Re-enable']);
    expect(enforcement.card).toEqual({ platform: 'slack', teamId: 'T0QM', channelId: 'C0ENFORCE', messageId: card.ts });

    // The enforcement holds for the period: the next run sets the key the API refused (its fault was one-off)
    // inactive too, records it and updates the card in place; it posts nothing new.
    expect(await job.run(t.qm.services)).toBe('1 budgets, 0 alerts, 0 back under, 0 resets, 1 enforced');
    expect(t.sim.state.keyStatus(refused)).toBe('inactive');
    expect(inChannel('C0ENFORCE')).toHaveLength(1);
    expect([...(await t.qm.store.limits.enforcementFor(enforced.id, '2026-11'))!.keyIds].sort()).toEqual(
      active.map((k) => k.id).sort(),
    );
    const updated = visibleText(card);
    expect(updated).toContain(`set ${active.length} keys inactive (not archived)`);
    expect(updated).not.toContain('Could not set inactive');
    expect(Object.keys(t.slack.buttons(card))).toEqual(['Re-enable']);

    // Then, with every key in scope inactive, a run lists the keys once and changes nothing.
    const calls = keyPosts();
    const lists = keyLists();
    const revisions = card.history.length;
    expect(await job.run(t.qm.services)).toBe('1 budgets, 0 alerts, 0 back under, 0 resets');
    expect(inChannel('C0ENFORCE')).toHaveLength(1);
    expect(keyPosts()).toBe(calls);
    expect(keyLists()).toBe(lists + 1);
    expect(card.history).toHaveLength(revisions);
  }, 60_000);

  it("a non-approver's Re-enable is refused and changes nothing", async () => {
    const was = statuses();
    const notice = await clickReenable('UBOB', card);
    expect(notice).toContain('You are not an approver');
    expect(statuses()).toEqual(was);
    expect((await t.qm.store.limits.getEnforcement((await enforcementId())!))?.reenabledAt).toBeNull();
    expect(card.history).toHaveLength(1); // the update by the run that held the enforcement, nothing since
  }, 30_000);

  it('a re-enable the Admin API refuses gives its claim back and changes nothing', async () => {
    const e = (await t.qm.store.limits.getEnforcement((await enforcementId())!))!;
    const was = statuses();
    t.sim.faults.inject({ status: 403, times: 1, method: 'POST', path: `/v1/organizations/api_keys/${e.keyIds[0]}` });
    await clickReenable('UALICE', card);
    await waitFor(() => visibleText(card).includes('but it failed') || undefined, 10_000);
    expect((await t.qm.store.limits.getEnforcement(e.id))?.reenabledAt).toBeNull();
    expect(statuses()).toEqual(was);
  }, 30_000);

  it("an approver's Re-enable restores exactly the keys the budget disabled", async () => {
    const id = (await enforcementId())!;
    await clickReenable('UALICE', card);
    const done = await waitFor(async () => {
      const e = await t.qm.store.limits.getEnforcement(id);
      const text = visibleText(card);
      return e?.reenabledAt && text.includes('Done') ? { e, text } : null;
    }, 10_000);
    expect(done.e.reenabledBy).toBe(t.sim.state.userByEmail('alice@example.com')!.id);
    expect(statuses()).toEqual(before);
    // The card now shows the request, keeping what the alert said, and its outcome.
    expect(done.text).toContain('Budget enforced');
    expect(done.text).toContain(`Re-enabled ${active.length} keys`);

    const again = await clickReenable('UALICE', card);
    expect(again).toContain('already re-enabled');
    // The period's enforcement is spent: the next check leaves the keys alone.
    const calls = keyPosts();
    await job.run(t.qm.services);
    expect(keyPosts()).toBe(calls);
    expect(statuses()).toEqual(before);
  }, 30_000);

  it('reenable next_period: the keys come back when the next period starts, with a notice', async () => {
    const key = t.sim.state.apiKeys.find((k) => k.name === 'prod-backend')!;
    expect(t.sim.state.keyStatus(key)).toBe('active');
    const b = await budget({
      scope: 'key',
      targetId: key.id,
      targetName: key.name,
      workspaceId: key.scope_workspace_id ?? '',
      amountNanos: 1n * USD,
      period: 'day',
      thresholds: [100],
      reenable: 'next_period',
      channelId: 'C0NEXT',
    });
    await t.qm.store.spend.replaceUsage(new Date('2026-11-20T09:00:00Z'), new Date('2026-11-20T10:00:00Z'), [
      {
        bucketStart: new Date('2026-11-20T09:00:00Z'),
        workspaceId: key.scope_workspace_id ?? '',
        apiKeyId: key.id,
        model: 'claude-sonnet-4-5-20250929',
        serviceTier: 'standard',
        uncachedInput: 1_000_000n,
        cacheRead: 0n,
        cacheWrite5m: 0n,
        cacheWrite1h: 0n,
        output: 0n,
        webSearch: 0n,
      },
    ]);
    await job.run(t.qm.services);
    expect(t.sim.state.keyStatus(key)).toBe('inactive');
    const alert = visibleText(inChannel('C0NEXT')[0]);
    expect(alert).toContain('$3.00 (estimate');
    expect(alert).toContain('300%');
    expect(alert).toContain('re-enabled when the next period starts');

    clock.set('2026-11-21T00:30:00Z');
    await job.run(t.qm.services);
    expect(t.sim.state.keyStatus(key)).toBe('active');
    const notices = inChannel('C0NEXT').slice(1).map(visibleText);
    expect(notices).toHaveLength(2);
    expect(notices.filter((n) => n.includes('New period'))).toHaveLength(2);
    expect(notices.join('\n')).toContain(`Re-enabled 1 key: *${key.name}*`);
    const e = (await t.qm.store.limits.enforcementFor(b.id, '2026-11-20'))!;
    expect(e.reenabledBy).toBe('next_period');

    await job.run(t.qm.services);
    expect(inChannel('C0NEXT')).toHaveLength(3);
    expect(t.sim.state.keyStatus(key)).toBe('active');
  }, 30_000);

  async function enforcementId() {
    return (await t.qm.store.limits.enforcementFor(enforced.id, '2026-11'))?.id;
  }
});
