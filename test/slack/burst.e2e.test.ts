/**
 * Commands are acknowledged at once and then worked through a bounded number at a time, fair between users: the
 * event loop never holds hundreds of half-done commands (so the next acknowledgement does not wait behind them),
 * one user's slow commands delay only that user, and a user with too many commands waiting is told so at once.
 * Real Bolt, correctly signed requests, the fake Slack and the Admin API simulator made slow.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORK_CONCURRENCY } from '../../src/runtime/fair-queue.js';
import { FORM, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';

/** `/qm audit` re-reads the caller's role from the Admin API: this is that call, made slow below. */
const LIVE_ROLE_CHECK = /^\/v1\/organizations\/users\/[^/]+$/;
const PER_TEAM = DEFAULT_WORK_CONCURRENCY / 2;

/** Chat users U0 … U(n-1) of the fake Slack workspace, each linked (by an operator) to the org admin. */
async function admins(t: TestApp, n: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (const id of ids) await linkChatUser(t, 'slack', 'T0QM', id, 'alice@example.com');
  return ids;
}

/** Posts a signed `/qm <text>` and returns its ack status and the id its reply will carry. */
async function send(t: TestApp, text: string, user: string): Promise<{ status: number; id: string }> {
  const id = randomBytes(6).toString('hex');
  const body = t.slack.slashCommandBody(text, user, id);
  const res = await fetch(`${t.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': FORM, ...t.slack.sign(body) },
    body,
  });
  await res.text();
  return { status: res.status, id };
}

const answered = (t: TestApp, id: string) => t.slack.responses.find((r) => r.id === id)?.body;

describe('a burst of slash commands', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('acknowledges every command before any answer, runs a bounded number at once, and answers all', async () => {
    const users = await admins(t, 3 * DEFAULT_WORK_CONCURRENCY, 'UBURST');
    t.sim.faults.inject({ status: 0, delayMs: 600, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
    let maxInFlight = 0;
    const watch = setInterval(() => {
      const inFlight = t.sim.requests.filter((r) => LIVE_ROLE_CHECK.test(r.path) && r.status === null).length;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }, 5);
    try {
      const sent = await Promise.all(
        users.map(async (u) => {
          const r = await send(t, 'audit', u);
          return r;
        }),
      );
      expect(sent.map((s) => s.status)).toEqual(users.map(() => 200));
      const ids = sent.map((s) => s.id);
      // Acknowledgement never waited for the work: no command had been answered when the last ack came back.
      expect(t.slack.responses.filter((r) => ids.includes(r.id))).toHaveLength(0);

      await waitFor(() => (ids.every((id) => answered(t, id)) ? true : null), 30_000);
      for (const id of ids) expect(visibleText(answered(t, id))).toContain('Audit log');
      // The commands really overlapped (the watch saw several calls at once), yet never more than one workspace's
      // share of the slots.
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(PER_TEAM);
    } finally {
      clearInterval(watch);
      t.sim.faults.clear();
    }
  });

  it("one user's slow commands delay only that user", async () => {
    const [slow] = await admins(t, 1, 'USLOW');
    t.sim.faults.inject({ status: 0, delayMs: 400, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
    try {
      const theirs: { status: number; id: string }[] = [];
      for (let i = 0; i < DEFAULT_WORK_CONCURRENCY + 2; i++) theirs.push(await send(t, 'audit', slow!));
      // Someone else's command (no Admin API call) is answered while most of the slow user's are still waiting.
      const other = await t.slack.command(t.url, 'whoami', 'UBOB');
      expect(visibleText(other.reply)).toContain('bob@example.com');
      const stillWaiting = theirs.filter((c) => !answered(t, c.id)).length;
      expect(stillWaiting).toBeGreaterThanOrEqual(DEFAULT_WORK_CONCURRENCY / 2);
      await waitFor(() => (theirs.every((c) => answered(t, c.id)) ? true : null), 30_000);
      // A user's own commands run in the order they were sent.
      const order = theirs.map((c) => t.slack.responses.findIndex((r) => r.id === c.id));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    } finally {
      t.sim.faults.clear();
    }
  });

  it('tells a user with too many commands waiting, at once, and audits the refusal', async () => {
    const [busy] = await admins(t, 1, 'UBUSY');
    t.sim.faults.inject({ status: 0, delayMs: 300, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
    try {
      const sent = await Promise.all(Array.from({ length: 25 }, () => send(t, 'audit', busy!)));
      expect(sent.map((s) => s.status)).toEqual(sent.map(() => 200));
      const refused = await waitFor(() => {
        const r = sent.map((s) => answered(t, s.id)).filter((b) => b && visibleText(b).includes('Too many commands'));
        return r.length > 0 ? r : null;
      });
      expect(visibleText(refused[0])).toContain('commands waiting to run');
      const entries = (await t.qm.store.audit.list({ limit: 100 })).entries.filter(
        (e) => e.actorId === busy && e.errorCode === 'RATE_LIMITED',
      );
      expect(entries.length).toBeGreaterThan(0);
      expect(entries[0]).toMatchObject({ outcome: 'denied', action: 'audit' });
      await waitFor(() => (sent.every((s) => answered(t, s.id)) ? true : null), 30_000);
    } finally {
      t.sim.faults.clear();
    }
  });
});

describe('shutting down with acknowledged commands still queued', () => {
  it('answers every command it acknowledged before it closes the database', async () => {
    const t = await startTestApp();
    try {
      const users = await admins(t, 2 * DEFAULT_WORK_CONCURRENCY, 'USHUT');
      t.sim.faults.inject({ status: 0, delayMs: 300, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
      const sent = await Promise.all(users.map((u) => send(t, 'audit', u)));
      expect(sent.map((s) => s.status)).toEqual(users.map(() => 200));
      // Most of them are still waiting for a slot when the shutdown starts.
      expect(t.qm.dispatcher.queued).toBeGreaterThan(0);
      await t.qm.close();
      for (const s of sent) expect(visibleText(answered(t, s.id))).toContain('Audit log');
    } finally {
      t.sim.faults.clear();
      await t.close(); // closing twice is harmless: the second close finds nothing left to do
    }
  });
});
