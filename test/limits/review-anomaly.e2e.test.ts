/**
 * Review: the runaway-spend alert with names that carry markup characters (a workspace `prod_eu`, a key `chat*bot`),
 * on the real Bolt against the fake Slack: the names read as they are, once, with no escape characters showing, on
 * the alert and on the Disable key request it becomes. Both databases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import { type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';

const HOUR = 3_600_000;
const SPEND = 'C0SPEND';
const usageSync = JOBS.find((j) => j.name === 'usage.sync')!;
const clock = new TestClock();
const START = new Date('2026-11-18T12:30:00Z');
let t: TestApp;

const alerts = (): FakeSlackMessage[] => [...t.slack.messages.values()].filter((m) => m.channel === SPEND);
const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / HOUR) * HOUR);

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
}, 60_000);
afterAll(async () => {
  await t?.close();
});

it('names with markup characters read as they are on the alert and on the Disable key request', async () => {
  t.sim.state.workspaces.find((w) => w.name === 'prod')!.name = 'prod_eu';
  const key = t.sim.state.apiKeys.find((k) => k.name === 'prod-chat')!;
  key.name = 'chat*bot';
  await t.qm.services.directory.sync();
  const res = await fetch(`${t.sim.url}/_simulator/usage/revise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiKeyId: key.id,
      hourStart: hourOf(clock.now()).toISOString(),
      model: 'claude-sonnet-4-5-20250929',
      serviceTier: 'standard',
      tokens: { uncachedInput: 500_000, output: 100_000 },
    }),
  });
  expect(res.status).toBe(200);
  expect(await usageSync.run(t.qm.services)).toContain('1 alerted');
  const card = alerts()[0]!;
  const text = visibleText(card).replace(/\u200b/g, '');
  expect(text).toContain('chat*bot');
  expect(text).toContain('in workspace *prod_eu*');
  expect(text).not.toContain('\\');

  const actionId = t.slack.buttons(card)['Disable key']!;
  await t.slack.click(t.url, { user: 'UALICE', actionId, message: card });
  const done = await waitFor(
    () => (/Done/.test(visibleText(card)) ? visibleText(card).replace(/\u200b/g, '') : undefined),
    10_000,
  );
  expect(done).toContain('in workspace *prod_eu*');
  expect(done).not.toContain('\\');
}, 120_000);
