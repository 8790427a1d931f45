/**
 * Housekeeping that several replicas share: buttons are collected with their request once it has been final for
 * a day (a late click before that still says what happened); a job's lease is renewed while it runs, so a slow
 * run is not started again alongside by another replica; a reminder is sent once per request even when the
 * reminder job runs on several replicas at once (or again). Real Bolt, the simulator, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUTTON_GRACE_MS } from '../../src/core/approvals/buttons.js';
import { APPROVAL_VOTE } from '../../src/core/approvals/engine.js';
import { JOBS, type JobDefinition } from '../../src/core/jobs.js';
import { runJobOnce, startScheduler } from '../../src/scheduler/scheduler.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { clickCard, fileCard } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin] }
  expires_after: 24h
  remind_before: 2h
`;

let t: TestApp;
const clock = new TestClock();
const job = (name: string) => runJobOnce(JOBS.find((j) => j.name === name)!, t.qm.services);
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock });
});
afterAll(async () => {
  await t?.close();
});

it("a decided request's buttons are deleted a day later; a pending request's are kept", async () => {
  const decided = await fileCard(t, 'members role dave@example.com developer', 'UBOB');
  const pending = await fileCard(t, 'members role erin@example.com developer', 'UBOB');
  await clickCard(t, 'UALICE', decided.card, 'Deny');
  await waitFor(async () => ((await t.qm.store.approvals.get(decided.id))!.status === 'denied' ? true : undefined));
  const buttons = t.slack.buttons({ ...decided.card, blocks: decided.card.history[0]?.blocks ?? decided.card.blocks });

  // Within the day a late click still says what happened.
  expect(await job('approvals.collect-buttons')).toBe('0 buttons deleted');
  const late = await t.slack.click(t.url, { user: 'UALICE', actionId: buttons.Approve!, message: decided.card });
  const lateNotice = await waitFor(() => t.slack.responses.find((x) => x.id === late.responseId)?.body);
  expect(visibleText(lateNotice)).toContain('already denied');

  clock.advance(BUTTON_GRACE_MS + 60_000);
  expect(await job('approvals.collect-buttons')).toBe('2 buttons deleted');
  const subjects = await t.qm.store.actionTokens.subjects(APPROVAL_VOTE);
  expect(subjects).not.toContain(decided.id);
  expect(subjects).toContain(pending.id);
  expect(await t.qm.store.actionTokens.get(buttons.Approve!)).toBeNull();
  const gone = await t.slack.click(t.url, { user: 'UALICE', actionId: buttons.Approve!, message: decided.card });
  const goneNotice = await waitFor(() => t.slack.responses.find((x) => x.id === gone.responseId)?.body);
  expect(visibleText(goneNotice)).toContain('This button no longer works');
  expect(await job('approvals.collect-buttons')).toBe('0 buttons deleted');
});

it('a job that outlasts its lease keeps it: another replica does not run it alongside', async () => {
  let release!: () => void;
  let runs = 0;
  const slow: JobDefinition = {
    name: 'test.slow',
    description: 'waits',
    everyMs: 5_000,
    run: async () => {
      runs++;
      await new Promise<void>((r) => {
        release = r;
      });
      return 'done';
    },
  };
  const first = runJobOnce(slow, t.qm.services, 'replica-a', { renewEveryMs: 20 });
  await waitFor(() => (runs === 1 ? true : undefined));
  // The run takes longer than its lease (60 s): the renewals keep it.
  for (let i = 0; i < 3; i++) {
    clock.advance(50_000);
    await new Promise((r) => setTimeout(r, 80));
  }
  expect(await runJobOnce(slow, t.qm.services, 'replica-b')).toBeNull();
  expect(runs).toBe(1);
  release();
  expect(await first).toBe('done');
  // Released when done: the next run may go ahead at once.
  const second = runJobOnce(slow, t.qm.services, 'replica-b');
  await waitFor(() => (runs === 2 ? true : undefined));
  release();
  expect(await second).toBe('done');
});

it('a reminder is sent once per request, even from several replicas at once and on re-runs', async () => {
  const { id } = await fileCard(t, 'members role dave@example.com billing', 'UBOB');
  const reminders = () =>
    [...t.slack.messages.values()].filter(
      (m) => m.channel === 'DUALICE' && visibleText(m).includes(`Reminder: request ${id}`),
    ).length;
  clock.advance(23 * HOUR);
  const engine = t.qm.services.approvals;
  await Promise.all([engine.remindDue(), engine.remindDue(), engine.remindDue()]);
  await engine.remindDue();
  await new Promise((r) => setTimeout(r, 200));
  expect(reminders()).toBe(1);
  expect((await t.qm.store.approvals.get(id))!.remindedAt).not.toBeNull();
});

it('a job with firstAfterMs runs soon after start-up, not a whole interval later; the report syncs have one', async () => {
  let runs = 0;
  const hourly: JobDefinition = {
    name: 'test.first-run',
    description: 'counts',
    everyMs: 60 * 60_000,
    firstAfterMs: 30,
    run: async () => `${++runs}`,
  };
  const scheduler = startScheduler([hourly], t.qm.services, t.qm.services.logger);
  try {
    await waitFor(() => (runs === 1 ? true : undefined));
  } finally {
    await scheduler.stop();
  }
  expect(runs).toBe(1);
  // A fresh install shows usage within seconds, not after the first 10- or 30-minute interval.
  for (const name of ['usage.sync', 'costs.sync']) {
    expect(JOBS.find((j) => j.name === name)?.firstAfterMs).toBeLessThanOrEqual(30_000);
  }
});
