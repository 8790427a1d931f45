/**
 * Runaway spend end to end (issue 10 item 5): the simulator's demo organization, its usage ingested by the job
 * `usage.sync` (which checks for anomalies right after), a spike injected into one key's newest hour through the
 * simulator's control endpoint (POST /_simulator/usage/revise), and the alert card on the real Bolt against the fake
 * Slack, with its Disable key button. The simulator runs on the test clock, fixed at a half hour in the past, so the
 * organization's traffic (a pure function of the seed and the hour) is the same in every run. Both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageCostUnits } from '../../src/anthropic/simulator/usage.js';
import { JOBS } from '../../src/core/jobs.js';
import { sendDigestNow } from '../../src/core/spend/digest-send.js';
import { syncUsage } from '../../src/core/spend/sync.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';

const HOUR = 3_600_000;
const SPEND = 'C0SPEND';
const usageSync = JOBS.find((j) => j.name === 'usage.sync')!;
const anomaliesJob = JOBS.find((j) => j.name === 'spend.anomalies')!;
const clock = new TestClock();
// A Wednesday, half past the hour: 30 minutes of margin before the newest usage hour moves on by itself.
const START = new Date('2026-11-18T12:30:00Z');
let t: TestApp;

const keyNamed = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!;
const alerts = (): FakeSlackMessage[] => [...t.slack.messages.values()].filter((m) => m.channel === SPEND);
const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / HOUR) * HOUR);

/** A spike in the key's current hour: absolute token counts (about $3 at list prices), as the API would revise it. */
async function spike(keyId: string, hour: Date, on = true): Promise<void> {
  const res = await fetch(`${t.sim.url}/_simulator/usage/revise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiKeyId: keyId,
      hourStart: hour.toISOString(),
      model: 'claude-sonnet-4-5-20250929',
      serviceTier: 'standard',
      // Off: a factor of 1 replaces the earlier revision of the same key, hour, model and tier (the spike is gone).
      ...(on ? { tokens: { uncachedInput: 500_000, output: 100_000 } } : { factor: 1 }),
    }),
  });
  expect(res.status).toBe(200);
}

async function click(user: string, card: FakeSlackMessage, label: string): Promise<string> {
  const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
  const actionId = t.slack.buttons(original)[label];
  expect(actionId, `a ${label} button`).toBeTruthy();
  const r = await t.slack.click(t.url, { user, actionId: actionId!, message: card });
  expect(r.status).toBe(200);
  const notice = () => t.slack.responses.find((x) => x.id === r.responseId)?.body;
  const revisions = card.history.length;
  await waitFor(() => notice() ?? (card.history.length > revisions || undefined), 5000);
  return visibleText(notice() ?? (await waitFor(notice, 300).catch(() => ({ text: '' }))));
}

beforeAll(async () => {
  clock.set(START);
  t = await startTestApp({
    clock,
    simulatorOnClock: true,
    policy: [
      'version: 1',
      'spend:',
      '  anomalies: { factor: 3, min_hour_usd: 1, min_day_usd: 10, baseline_days: 14 }',
      `  channels: { slack: ${SPEND} }`,
      '',
    ].join('\n'),
  });
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('runaway spend', () => {
  it('steady heavy usage (a batch key that is always large) raises nothing, though it is above the floor', async () => {
    const summary = await usageSync.run(t.qm.services);
    expect(summary).toMatch(/anomalies: \d+ checked, 0 anomalous, 0 alerted/);
    // research-sweeps runs batches all day: its last 24 hours cost well over the $10 day floor (ground truth from
    // the simulator), so it was a candidate and judged against its own baseline.
    const sweeps = keyNamed('research-sweeps');
    const end = hourOf(START).getTime() + HOUR;
    const rows = t.sim.state.usageRows(end - 24 * HOUR, end).filter((r) => r.apiKeyId === sweeps.id);
    const batch = rows.filter((r) => r.serviceTier === 'batch');
    expect(new Set(batch.map((r) => r.hourStart)).size).toBeGreaterThanOrEqual(20);
    const units = batch.reduce((s, r) => s + usageCostUnits(r), 0n);
    expect(units).toBeGreaterThan(10n * 100n * 10_000_000n); // its batches alone: over $10 (1e-7 cent units)
    expect(await t.qm.store.limits.openAnomaly('key', sweeps.id)).toBeNull();
    expect(alerts()).toHaveLength(0);
  }, 120_000);

  let firstCard: FakeSlackMessage;
  it('a spike on one key alerts once, naming the key, workspace and owner; a second run in the episode does not', async () => {
    const key = keyNamed('prod-chat');
    const owner = t.sim.state.users.find((u) => u.id === key.created_by!.id)!;
    await spike(key.id, hourOf(clock.now()));
    const summary = await usageSync.run(t.qm.services);
    expect(summary).toContain('1 anomalous, 1 alerted');
    expect(alerts()).toHaveLength(1);
    firstCard = alerts()[0]!;
    const text = visibleText(firstCard);
    expect(text).toContain('Runaway spend');
    expect(text).toContain('prod-chat');
    expect(text).toContain(key.partial_key_hint!);
    expect(text).toContain('prod');
    expect(text).toContain(owner.email);
    expect(text).toMatch(/estimate/i);
    expect(text).toContain('/qm usage today key');
    expect(text).toMatch(/~\$3\.\d\d/);
    expect(t.slack.buttons(firstCard)['Disable key']).toBeTruthy();
    expect(text).not.toContain('research-sweeps');
    const open = await t.qm.store.limits.openAnomaly('key', key.id);
    expect(open?.card?.messageId).toBe(firstCard.ts);

    clock.advance(60_000);
    expect(await anomaliesJob.run(t.qm.services)).toContain('1 anomalous, 0 alerted');
    expect(alerts()).toHaveLength(1);
    expect((await t.qm.store.limits.openAnomaly('key', key.id))?.id).toBe(open!.id);
  }, 120_000);

  it('two runs at once (two replicas) alert a new spike once', async () => {
    const key = keyNamed('staging-demo');
    await spike(key.id, hourOf(clock.now()));
    await syncUsage(t.qm.services);
    const [a, b] = await Promise.all([anomaliesJob.run(t.qm.services), anomaliesJob.run(t.qm.services)]);
    expect([a, b].filter((s) => s.includes('1 alerted'))).toHaveLength(1);
    expect([a, b].filter((s) => s.includes('0 alerted'))).toHaveLength(1);
    expect(alerts()).toHaveLength(2);
    expect(visibleText(alerts()[1])).toContain('staging-demo');
  }, 120_000);

  it('a non-approver’s Disable key is refused and the key stays active', async () => {
    const key = keyNamed('prod-chat');
    const notice = await click('UBOB', firstCard, 'Disable key');
    expect(notice).toMatch(/not an approver/);
    expect(keyNamed('prod-chat').status).toBe('active');
    expect(await t.qm.store.approvals.list({ statuses: ['approved', 'done', 'executing'], limit: 10 })).toHaveLength(0);
    expect(key.status).toBe('active');
  }, 60_000);

  it('the episode ends when the spend is normal again, and a new spike alerts again', async () => {
    const key = keyNamed('prod-chat');
    const first = (await t.qm.store.limits.openAnomaly('key', key.id))!;
    await spike(key.id, hourOf(clock.now()), false);
    await spike(keyNamed('staging-demo').id, hourOf(clock.now()), false);
    clock.advance(HOUR);
    const summary = await usageSync.run(t.qm.services);
    expect(summary).toContain('0 anomalous, 0 alerted, 2 ended');
    expect(await t.qm.store.limits.openAnomaly('key', key.id)).toBeNull();
    expect((await t.qm.store.limits.getAnomaly(first.id))?.endedAt).toBeInstanceOf(Date);
    expect(alerts()).toHaveLength(2);

    await spike(key.id, hourOf(clock.now()));
    expect(await usageSync.run(t.qm.services)).toContain('1 anomalous, 1 alerted');
    expect(alerts()).toHaveLength(3);
    expect(visibleText(alerts()[2])).toContain('prod-chat');
    const second = (await t.qm.store.limits.openAnomaly('key', key.id))!;
    expect(second.id).not.toBe(first.id);
  }, 120_000);

  it('Disable key clicked by an approver sets the key inactive and the card shows it', async () => {
    const key = keyNamed('prod-chat');
    const card = alerts()[2]!;
    await click('UALICE', card, 'Disable key');
    await waitFor(() => keyNamed('prod-chat').status === 'inactive' || undefined, 10_000);
    expect(t.sim.state.apiKeys.find((k) => k.id === key.id)!.status).toBe('inactive');
    const done = await waitFor(() => (/Done/.test(visibleText(card)) ? visibleText(card) : undefined), 10_000);
    expect(done).toContain('Runaway spend');
    expect(done).toContain('prod-chat');
    expect(done).toMatch(/disabled \(inactive\)/);
    expect(done).toContain('alice@example.com');
  }, 60_000);

  it('the digest of the day lists its runaway-spend episodes', async () => {
    const day = new Date('2026-11-18T00:00:00Z');
    const sent = await sendDigestNow(t.qm.services, { platform: 'slack', teamId: 'T0QM', channelId: 'C0DIGEST', day });
    const digest = visibleText(t.slack.messages.get(sent.messageId));
    expect(digest).toContain('Runaway spend (estimate');
    expect(digest).toContain('key prod-chat (prod): ~$3.00 in the hour from 2026-11-18 12:00 UTC');
    expect(digest).toMatch(/key prod-chat \(prod\): ~\$3\.\d\d in the hour from 2026-11-18 13:00 UTC/);
    expect(digest).toContain('key staging-demo (staging)');
    const section = digest.slice(digest.indexOf('Runaway spend (estimate'));
    expect(section.split('\n').filter((l) => l.startsWith('key ') || l.startsWith('workspace '))).toHaveLength(3);
    expect(section).not.toContain('research-sweeps');
  }, 60_000);

  it('an alert no channel took is not lost: the next run that can post alerts it, once', async () => {
    const key = keyNamed('staging-demo');
    await spike(key.id, hourOf(clock.now()));
    await syncUsage(t.qm.services);
    const before = alerts().length;
    t.slack.channelsWithoutBot.add(SPEND);
    try {
      expect(await anomaliesJob.run(t.qm.services)).toContain('0 alerted');
      expect(t.slack.calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === SPEND)).toBe(true);
      expect(alerts()).toHaveLength(before);
      expect(await t.qm.store.limits.openAnomaly('key', key.id)).toBeNull();
    } finally {
      t.slack.channelsWithoutBot.delete(SPEND);
    }
    expect(await anomaliesJob.run(t.qm.services)).toContain('1 alerted');
    expect(await anomaliesJob.run(t.qm.services)).toContain('0 alerted');
    expect(alerts()).toHaveLength(before + 1);
    expect(visibleText(alerts().at(-1))).toContain('staging-demo');
  }, 120_000);
});
