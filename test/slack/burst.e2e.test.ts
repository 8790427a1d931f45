/**
 * A burst of commands is acknowledged at once and then worked through a bounded number at a time: the event loop
 * never holds hundreds of half-done commands, so the next request's acknowledgement does not wait behind them.
 * Real Bolt, correctly signed requests, the fake Slack and the Admin API simulator made slow.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORK_CONCURRENCY } from '../../src/core/command/dispatch.js';
import { FORM, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

const BURST = 3 * DEFAULT_WORK_CONCURRENCY;
const LIVE_ROLE_CHECK = /^\/v1\/organizations\/users\/[^/]+$/;

describe('a burst of slash commands', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Resolve alice once (link by email) so the burst measures only the commands themselves.
    await t.slack.command(t.url, 'whoami', 'UALICE');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('acknowledges every command before any answer, runs a bounded number at once, and answers all', async () => {
    // `/qm audit` re-reads the caller's role from the Admin API; make that call slow so commands pile up.
    t.sim.faults.inject({ status: 0, delayMs: 600, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
    let maxInFlight = 0;
    const watch = setInterval(() => {
      const inFlight = t.sim.requests.filter((r) => LIVE_ROLE_CHECK.test(r.path) && r.status === null).length;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }, 5);
    try {
      const ids = Array.from({ length: BURST }, () => randomBytes(6).toString('hex'));
      const acks = await Promise.all(
        ids.map(async (id) => {
          const body = t.slack.slashCommandBody('audit', 'UALICE', id);
          const res = await fetch(`${t.url}/slack/events`, {
            method: 'POST',
            headers: { 'content-type': FORM, ...t.slack.sign(body) },
            body,
          });
          await res.text();
          return { status: res.status, answersSoFar: t.slack.responses.filter((r) => ids.includes(r.id)).length };
        }),
      );
      expect(acks.map((a) => a.status)).toEqual(ids.map(() => 200));
      // Acknowledgement never waited for the work: no command had been answered when the last ack came back.
      expect(Math.max(...acks.map((a) => a.answersSoFar))).toBe(0);

      const answered = await waitFor(
        () => (ids.every((id) => t.slack.responses.some((r) => r.id === id)) ? true : null),
        30_000,
      );
      expect(answered).toBe(true);
      for (const id of ids) {
        const reply = t.slack.responses.find((r) => r.id === id)!.body;
        expect(JSON.stringify(reply)).toContain('Audit log');
      }
      // The commands really overlapped (the watch saw several calls at once), yet never more than the bound.
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(DEFAULT_WORK_CONCURRENCY);
    } finally {
      clearInterval(watch);
      t.sim.faults.clear();
    }
  });
});

describe('shutting down with acknowledged commands still queued', () => {
  it('answers every command it acknowledged before it closes the database', async () => {
    const t = await startTestApp();
    try {
      await t.slack.command(t.url, 'whoami', 'UALICE');
      t.sim.faults.inject({ status: 0, delayMs: 300, times: Number.POSITIVE_INFINITY, path: LIVE_ROLE_CHECK });
      const ids = Array.from({ length: 2 * DEFAULT_WORK_CONCURRENCY }, () => randomBytes(6).toString('hex'));
      const acks = await Promise.all(
        ids.map(async (id) => {
          const body = t.slack.slashCommandBody('audit', 'UALICE', id);
          const res = await fetch(`${t.url}/slack/events`, {
            method: 'POST',
            headers: { 'content-type': FORM, ...t.slack.sign(body) },
            body,
          });
          await res.text();
          return res.status;
        }),
      );
      expect(acks).toEqual(ids.map(() => 200));
      // Most of them are still waiting for a slot when the shutdown starts.
      expect(t.qm.dispatcher.queued).toBeGreaterThan(0);
      await t.qm.close();
      const answered = ids.filter((id) => t.slack.responses.some((r) => r.id === id));
      expect(answered).toEqual(ids);
      for (const id of ids)
        expect(JSON.stringify(t.slack.responses.find((r) => r.id === id)!.body)).toContain('Audit log');
    } finally {
      t.sim.faults.clear();
      await t.close(); // closing twice is harmless: the second close finds nothing left to do
    }
  });
});
