/**
 * Digest subscriptions: `/qm digest subscribe|unsubscribe` through real Bolt against the fake Slack, and the job
 * `digests.send` driven at chosen instants of a fake clock (no waiting): 09:00 Europe/Berlin fires at 08:00 UTC
 * in winter and 07:00 UTC in summer, across both daylight-saving changes; once per period however often the job
 * runs; a send missed while the bot was down goes out within the catch-up window; a failed send is retried on
 * the next run; two replicas on one database running the job at the same moment post one digest.
 * Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/core/jobs.js';
import type { Services } from '../../src/core/services.js';
import { buildCore, type Core } from '../../src/main.js';
import { visibleText } from '../fakes/slack.js';
import { auditEntry, linkChatUser, startTestApp, type TestApp, TestClock } from '../support/app.js';

let t: TestApp;
const clock = new TestClock();
const job = JOBS.find((j) => j.name === 'digests.send')!;
const say = async (text: string, user = 'UALICE') => visibleText((await t.slack.command(t.url, text, user)).reply);
const postsTo = (channel: string) => [...t.slack.messages.values()].filter((m) => m.channel === channel);
/** Runs the job as the scheduler would at that instant. */
const runAt = async (at: string, services: Services = t.qm.services) => {
  clock.set(at);
  return job.run(services);
};

beforeAll(async () => {
  t = await startTestApp({ clock });
  await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
  await linkChatUser(t, 'slack', 'T0QM', 'UBOB', 'bob@example.com');
  await linkChatUser(t, 'slack', 'T0QM', 'UCAROL', 'carol@example.com');
  // The reports count as ingested for every day these tests report on (the schedule is under test here, not
  // the sync: a digest send then makes no report request).
  for (const report of ['usage', 'costs', 'claude_code'] as const) {
    await t.qm.store.spend.setSyncedFrom(report, new Date('2025-01-01T00:00:00Z'), new Date());
    await t.qm.store.spend.setSyncedThrough(report, new Date('2027-01-01T00:00:00Z'), new Date());
  }
}, 30_000);
afterAll(async () => {
  await t?.close();
});

describe('digest subscribe', () => {
  it('refuses a malformed time, an unknown time zone and a weekday on a daily digest, with what to type', async () => {
    expect(await say('digest subscribe daily 25:00')).toMatch(/is not a time: give it as HH:MM/);
    expect(await say('digest subscribe daily 9am')).toMatch(/is not a time/);
    expect(await say('digest subscribe daily 09:00 Mars/Olympus')).toMatch(/is not a time zone: give an IANA name/);
    expect(await say('digest subscribe daily 09:00 UTC day:fri')).toMatch(/is for weekly digests/);
    expect(await say('digest subscribe hourly')).toMatch(/daily|weekly/);
    expect(await t.qm.store.digests.list()).toEqual([]);
    const entry = await auditEntry(t, (e) => e.action === 'digest subscribe' && e.outcome !== 'allowed');
    expect(entry.errorCode).toBe('INVALID_INPUT');
  });

  it('refuses a developer (billing or admin needed) and says so', async () => {
    const text = await say('digest subscribe', 'UBOB');
    expect(text).toMatch(/needs the \*?billing\*? org role/);
    expect(await say('digest unsubscribe', 'UBOB')).toMatch(/needs the \*?billing\*? org role/);
    expect(await say('digest preview', 'UBOB')).toMatch(/needs the \*?billing\*? org role/);
    expect(await t.qm.store.digests.list()).toEqual([]);
    const entry = await auditEntry(t, (e) => e.action === 'digest subscribe' && e.outcome === 'denied');
    expect(entry.actorId).toBe('UBOB');
  });

  it('billing may subscribe, change the schedule (one subscription per channel and cadence) and unsubscribe', async () => {
    clock.set('2026-01-10T12:00:00Z');
    expect(await say('digest subscribe weekly 8:30 america/new_york day:fri', 'UCAROL')).toMatch(
      /weekly on Friday at 08:30 America\/New_York/,
    );
    expect(await say('digest subscribe weekly 10:00 UTC', 'UCAROL')).toMatch(
      /changed[\s\S]*weekly on Monday at 10:00 UTC/,
    );
    const subs = await t.qm.store.digests.list();
    expect(subs).toHaveLength(1);
    expect(subs[0]).toMatchObject({ platform: 'slack', teamId: 'T0QM', channelId: 'C0GENERAL', weekday: 1 });
    expect(await say('digest unsubscribe daily', 'UCAROL')).toMatch(/no daily digest subscription/);
    expect(await say('digest unsubscribe', 'UCAROL')).toMatch(/no longer gets the spend digest \*?weekly on Monday/);
    expect(await t.qm.store.digests.list()).toEqual([]);
    await auditEntry(t, (e) => e.action === 'digest unsubscribe' && e.outcome === 'allowed');
  });
});

describe('digests.send', () => {
  it('09:00 Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer, across both DST changes, once a day', async () => {
    // Saturday before the spring change (Sunday 2026-03-29, 01:00 UTC).
    clock.set('2026-03-28T06:00:00Z');
    expect(await say('digest subscribe daily 09:00 Europe/Berlin')).toMatch(/daily at 09:00 Europe\/Berlin/);
    const before = postsTo('C0GENERAL').length;
    const posts = () => postsTo('C0GENERAL').slice(before);

    await runAt('2026-03-28T07:59:30Z');
    expect(posts()).toHaveLength(0);
    expect(await runAt('2026-03-28T08:00:02Z')).toBe('1 sent');
    expect(posts()).toHaveLength(1);
    expect(visibleText(posts()[0])).toContain('2026-03-27');
    for (const at of ['2026-03-28T08:00:40Z', '2026-03-28T08:01:00Z', '2026-03-28T09:00:00Z', '2026-03-28T13:59:00Z']) {
      expect(await runAt(at)).toBe('0 sent');
    }
    expect(posts()).toHaveLength(1);

    // Summer time: 09:00 in Berlin is 07:00 UTC.
    await runAt('2026-03-29T06:59:50Z');
    expect(posts()).toHaveLength(1);
    expect(await runAt('2026-03-29T07:00:01Z')).toBe('1 sent');
    await runAt('2026-03-29T07:01:00Z');
    await runAt('2026-03-29T08:00:00Z');
    expect(posts()).toHaveLength(2);
    expect(visibleText(posts()[1])).toContain('2026-03-28');

    // Autumn: summer on Saturday 2026-10-24, winter from Sunday (01:00 UTC).
    await runAt('2026-10-24T06:59:00Z');
    expect(posts()).toHaveLength(2);
    await runAt('2026-10-24T07:00:00Z');
    expect(posts()).toHaveLength(3);
    await runAt('2026-10-25T07:00:05Z');
    expect(posts()).toHaveLength(3);
    await runAt('2026-10-25T08:00:05Z');
    expect(posts()).toHaveLength(4);
    expect(visibleText(posts()[3])).toContain('2026-10-24');

    const deliveries = await Promise.all(
      ['2026-03-28', '2026-03-29', '2026-10-24', '2026-10-25'].map(async (p) =>
        t.qm.store.digests.delivery((await t.qm.store.digests.list())[0]!.id, p),
      ),
    );
    expect(deliveries.every((d) => d?.sentAt)).toBe(true);
  });

  it('a subscriber who lost admin is no longer sent org-wide numbers: the digest waits until one who may subscribes', async () => {
    // Alice (admin) subscribed this channel above.
    const alice = t.sim.state.userByEmail('alice@example.com')!;
    const before = postsTo('C0GENERAL').length;
    alice.role = 'developer';
    await t.qm.services.directory.sync();
    try {
      // 2026-11-04: due 08:00 UTC.
      expect(await runAt('2026-11-04T08:00:05Z')).toBe('0 sent');
      expect(postsTo('C0GENERAL').length).toBe(before);
    } finally {
      alice.role = 'admin';
      await t.qm.services.directory.sync();
    }
    // Admin again (or another billing member or admin subscribing in the channel): sent, within the catch-up.
    expect(await runAt('2026-11-04T08:01:00Z')).toBe('1 sent');
    expect(postsTo('C0GENERAL').length).toBe(before + 1);
  });

  it('a digest missed while the bot was down goes out late within the catch-up window, not after it', async () => {
    const before = postsTo('C0GENERAL').length;
    // 2026-11-02: due 08:00 UTC; the first run after it is at 13:30 UTC.
    expect(await runAt('2026-11-02T13:30:00Z')).toBe('1 sent');
    expect(visibleText(postsTo('C0GENERAL').at(-1))).toContain('2026-11-01');
    // 2026-11-03: the bot comes back at 15:00 UTC, seven hours late: that day's digest is skipped.
    expect(await runAt('2026-11-03T15:00:00Z')).toBe('0 sent');
    expect(postsTo('C0GENERAL').length).toBe(before + 1);
  });

  it('a failed send is released and retried on the next run', async () => {
    clock.set('2026-05-01T00:00:00Z');
    await t.qm.store.digests.subscribe(
      {
        platform: 'slack',
        teamId: 'T0QM',
        channelId: 'C0RETRY',
        cadence: 'weekly',
        time: '10:00',
        timezone: 'Asia/Kolkata',
        weekday: 1,
        createdBy: t.sim.state.userByEmail('carol@example.com')!.id,
      },
      clock.now(),
    );
    t.slack.channelsWithoutBot.add('C0RETRY');
    // Monday 2026-05-04 10:00 in Kolkata (UTC+5:30) is 04:30 UTC.
    expect(await runAt('2026-05-04T04:30:01Z')).toMatch(/0 sent, 1 failed/);
    expect(postsTo('C0RETRY')).toHaveLength(0);
    const sub = (await t.qm.store.digests.list()).find((s) => s.channelId === 'C0RETRY')!;
    expect(await t.qm.store.digests.delivery(sub.id, '2026-W19')).toBeNull();
    expect(t.logs.some((l) => l.includes('sending a digest failed') && l.includes(sub.id))).toBe(true);
    t.slack.channelsWithoutBot.delete('C0RETRY');
    expect(await runAt('2026-05-04T04:31:00Z')).toMatch(/^1 sent/);
    expect(postsTo('C0RETRY')).toHaveLength(1);
    expect((await t.qm.store.digests.delivery(sub.id, '2026-W19'))?.sentAt).toBeTruthy();
    // The rest of the week: nothing more.
    await runAt('2026-05-04T05:00:00Z');
    await runAt('2026-05-05T04:30:00Z');
    expect(postsTo('C0RETRY')).toHaveLength(1);
  });

  it('a claim left unsent by a replica that died is taken over after 15 minutes, by one caller; the old holder is fenced', async () => {
    const d = t.qm.store.digests;
    const at = (iso: string) => new Date(iso);
    const sub = 'sub-stale-test';
    expect(await d.claim(sub, '2026-07-01', 'dead', at('2026-07-01T09:00:00Z'), 15 * 60_000)).toBe(true);
    expect(await d.claim(sub, '2026-07-01', 'b', at('2026-07-01T09:14:00Z'), 15 * 60_000)).toBe(false);
    const takeovers = await Promise.all(
      ['b', 'c', 'd'].map((h) => d.claim(sub, '2026-07-01', h, at('2026-07-01T09:16:00Z'), 15 * 60_000)),
    );
    expect(takeovers.filter(Boolean)).toHaveLength(1);
    const winner = ['b', 'c', 'd'][takeovers.indexOf(true)]!;
    expect(await d.markSent(sub, '2026-07-01', 'dead', at('2026-07-01T09:17:00Z'))).toBe(false);
    await d.release(sub, '2026-07-01', 'dead');
    expect((await d.delivery(sub, '2026-07-01'))?.holder).toBe(winner);
    expect(await d.markSent(sub, '2026-07-01', winner, at('2026-07-01T09:17:00Z'))).toBe(true);
    // Sent: never claimed again, however old.
    expect(await d.claim(sub, '2026-07-01', 'e', at('2026-07-02T09:00:00Z'), 15 * 60_000)).toBe(false);
  });

  describe('two replicas on one database', () => {
    let b: Core;
    beforeAll(async () => {
      b = await buildCore(t.qm.config, { clock, skipMigrate: true, logLevel: 'silent' });
    });
    afterAll(async () => {
      await b?.close();
    });

    it('running the job at the same moment post one digest per period, and post it', async () => {
      clock.set('2026-06-01T00:00:00Z');
      await t.qm.store.digests.subscribe(
        {
          platform: 'slack',
          teamId: 'T0QM',
          channelId: 'C0TWO',
          cadence: 'daily',
          time: '06:15',
          timezone: 'UTC',
          weekday: 1,
          createdBy: t.sim.state.userByEmail('carol@example.com')!.id,
        },
        clock.now(),
      );
      for (let day = 2; day <= 6; day++) {
        clock.set(`2026-06-0${day}T06:15:03Z`);
        // Not through the job lease (which alone would serialize them): the claim has to hold by itself.
        const [x, y] = await Promise.all([job.run(t.qm.services), job.run(b.services)]);
        expect([x, y].sort()).toEqual(['0 sent', '1 sent']);
        const posts = postsTo('C0TWO');
        expect(posts).toHaveLength(day - 1);
        expect(visibleText(posts.at(-1))).toContain(`2026-06-0${day - 1}`);
      }
    });

    it('a send whose digest takes long to compose (its reports are synced first) is not taken over and sent twice', async () => {
      clock.set('2026-06-09T00:00:00Z');
      await t.qm.store.digests.subscribe(
        {
          platform: 'slack',
          teamId: 'T0QM',
          channelId: 'C0SLOW',
          cadence: 'daily',
          time: '06:15',
          timezone: 'UTC',
          weekday: 1,
          createdBy: t.sim.state.userByEmail('carol@example.com')!.id,
        },
        clock.now(),
      );
      const channels = ['C0SLOW', 'C0TWO', 'C0GENERAL', 'C0RETRY'];
      const before = new Map(channels.map((c) => [c, postsTo(c).length]));
      // The cost report is behind the digest's window, so composing the digest syncs it first: a slow request.
      await t.qm.store.spend.setSyncedThrough('costs', new Date('2026-06-01T00:00:00Z'), new Date());
      const COST = '/v1/organizations/cost_report';
      t.sim.faults.inject({ path: COST, status: 0, delayMs: 1500 });
      const inFlight = () => t.sim.requests.some((r) => r.path === COST && r.status === null);
      try {
        clock.set('2026-06-10T06:15:03Z');
        const first = job.run(t.qm.services);
        for (let i = 0; i < 200 && !inFlight(); i++) await new Promise((r) => setTimeout(r, 10));
        expect(inFlight()).toBe(true);
        // Sixteen minutes later (by the clock) the other replica runs while the first is still composing.
        clock.set('2026-06-10T06:31:00Z');
        await job.run(b.services);
        await first;
        for (const c of channels) expect(postsTo(c).length - before.get(c)!).toBeLessThanOrEqual(1);
        expect(postsTo('C0SLOW').length - before.get('C0SLOW')!).toBe(1);
      } finally {
        for (const report of ['usage', 'costs', 'claude_code'] as const) {
          await t.qm.store.spend.setSyncedFrom(report, new Date('2025-01-01T00:00:00Z'), new Date());
          await t.qm.store.spend.setSyncedThrough(report, new Date('2027-01-01T00:00:00Z'), new Date());
        }
      }
    });
  });
});
