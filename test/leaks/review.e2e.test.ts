/**
 * Review of issue 11 (leak defense) as an attacker and as the least privileged user, through the real app: a
 * Deactivate whose first attempt fails (retried from the outbox) still leaves the card showing the key's status;
 * unprivileged people learn nothing from /qm incidents or the buttons; Socket Mode's debug logging never carries a
 * key; webhooks refuse what they should. Both databases.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSecret } from '../../src/core/leaks/incidents.js';
import { messageText } from '../../src/slack/scan.js';
import { APP_TOKEN, type FakeSlackMessage, visibleText, waitFor } from '../fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { byPatterns } from '../support/leaks.js';

const SEC = 'C0SECURITY';

function demoSecret(keyId: string): string {
  const digest = createHash('sha256').update(`secret:${keyId}`).digest('base64url');
  return `sk-ant-api03-${(digest + digest + digest + digest).slice(0, 93)}AA`;
}

describe('review: card status after a retried Deactivate; what the unprivileged learn', () => {
  let t: TestApp;
  let card: FakeSlackMessage;
  let incidentId: string;
  const keyNamed = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!;

  beforeAll(async () => {
    t = await startTestApp({ policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n') });
    await linkChatUser(t, 'slack', 'T0QM', 'UALICE', 'alice@example.com');
    await linkChatUser(t, 'slack', 'T0QM', 'UDAVE', 'dave@example.com');
    await t.qm.services.directory.sync();
    const key = keyNamed('prod-chat');
    const out = await reportSecret(t.qm.services, {
      secret: demoSecret(key.id),
      kind: 'anthropic_api_key',
      sighting: {
        source: 'gitleaks',
        sourceKey: 'gitleaks:review:1',
        location: 'acme/api .env:1',
        url: null,
        actor: 'mallory',
        seenAt: new Date(),
      },
    });
    incidentId = out.incident.id;
    card = [...t.slack.messages.values()].find((m) => m.channel === SEC)!;
    expect(card).toBeTruthy();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('an excerpt shows no long part of a second key the detector does not take (URL-encoded, split, look-alike)', async () => {
    const key = t.sim.state.apiKeys.find((k) => k.status === 'active' && k.name !== 'prod-chat' && k.partial_key_hint)!;
    const other = () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
    const [encoded, split, lookalike] = [other(), other(), other()];
    const text = [
      `ANTHROPIC_API_KEY=${demoSecret(key.id)}`,
      `https://example.com/?k=${encodeURIComponent(encoded).replace(/-/g, '%2D')}`,
      `${split.slice(0, 30)} ${split.slice(30)}`,
      `\u0455${lookalike.slice(1)}`,
    ].join(' ');
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text });
    const alert = await waitFor(
      () => [...t.slack.messages.values()].find((m) => m.channel === SEC && visibleText(m).includes(key.name)),
      10_000,
    );
    const shown = visibleText(alert);
    expect(shown).toContain('Excerpt (redacted)');
    expect(shown).toContain(key.partial_key_hint!);
    for (const k of [encoded, split, lookalike]) {
      // Not even a quarter of the key's secret part.
      for (let i = 13; i + 24 <= k.length; i += 6) expect(shown).not.toContain(k.slice(i, i + 24));
    }
  }, 60_000);

  it('a user (role user) is refused /qm incidents list and close, and the refusal names no key or incident', async () => {
    const list = await t.slack.command(t.url, 'incidents list all', 'UDAVE');
    const listed = visibleText(list.reply);
    expect(listed).toMatch(/permission|not allowed|admin/i);
    const close = await t.slack.command(t.url, `incidents close ${incidentId} "nothing"`, 'UDAVE');
    const closed = visibleText(close.reply);
    expect(closed).toMatch(/permission|not allowed|admin/i);
    for (const text of [listed, closed]) {
      expect(text).not.toContain('prod-chat');
      expect(text).not.toContain(keyNamed('prod-chat').partial_key_hint!);
      expect(text).not.toContain('mallory');
    }
    expect((await t.qm.store.leaks.get(incidentId))?.status).toBe('open');
    // An unlinked person likewise.
    const stranger = visibleText((await t.slack.command(t.url, 'incidents list all', 'USTRANGER')).reply);
    expect(stranger).not.toContain('prod-chat');
    expect(stranger).not.toContain(incidentId);
  }, 60_000);

  it('a user’s False positive and Archive are refused; the incident stays open', async () => {
    for (const label of ['False positive', 'Archive']) {
      const actionId = t.slack.buttons(card)[label]!;
      const r = await t.slack.click(t.url, { user: 'UDAVE', actionId, message: card });
      const notice = await waitFor(() => t.slack.responses.find((x) => x.id === r.responseId)?.body);
      expect(visibleText(notice)).toMatch(/not an approver/i);
    }
    expect((await t.qm.store.leaks.get(incidentId))?.status).toBe('open');
    expect(keyNamed('prod-chat').status).toBe('active');
  }, 60_000);

  it('Deactivate whose first attempt fails (retried later) still ends with the card showing the key inactive', async () => {
    const key = keyNamed('prod-chat');
    // The update fails through the client's own retries (3 attempts), so the outbox retries it after its backoff.
    t.sim.faults.inject({ status: 500, times: 3, method: 'POST', path: `/v1/organizations/api_keys/${key.id}` });
    const r = await t.slack.click(t.url, {
      user: 'UALICE',
      actionId: t.slack.buttons(card).Deactivate!,
      message: card,
    });
    expect(r.status).toBe(200);
    await waitFor(() => keyNamed('prod-chat').status === 'inactive' || undefined, 20_000);
    const done = await waitFor(
      () => (/Deactivate done/.test(visibleText(card)) ? visibleText(card) : undefined),
      10_000,
    ).catch(() => visibleText(card));
    expect(done).toContain('Deactivate done');
    expect(done).toContain('`inactive`');
    expect(done).not.toMatch(/Key status\W+`active`/);
  }, 60_000);
});

describe('review: unknown keys do not each refresh the directory', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n') });
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('a message of many made-up keys (any channel member can post one) refreshes the directory at most 3 times a minute', async () => {
    const made = Array.from(
      { length: 10 },
      () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`,
    );
    const listings = () =>
      t.sim.requests.filter((r) => r.method === 'GET' && r.path === '/v1/organizations/api_keys').length;
    const before = listings();
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: made.join('\n') });
    // Each made-up key is an incident of its own ("no key of this organization").
    await waitFor(async () => ((await t.qm.store.leaks.list({ limit: 50 })).total >= 10 ? true : undefined), 20_000);
    // The first unknown keys refresh the directory (a key made since the last sync); the rest wait for those.
    expect(listings() - before).toBeGreaterThanOrEqual(1);
    expect(listings() - before).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe('review: one message of many keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n') });
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('opens at most 25 incidents (25 cards), and the poster is told about the rest', async () => {
    const made = Array.from(
      { length: 40 },
      () => `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`,
    );
    await t.slack.say(t.url, { user: 'UBOB', channel: 'C0GENERAL', text: made.join('\n') });
    const dm = await waitFor(
      () => [...t.slack.messages.values()].find((m) => m.channel === 'DUBOB' && /secret/i.test(visibleText(m))),
      20_000,
    );
    const cards = [...t.slack.messages.values()].filter((m) => m.channel === SEC);
    expect(cards).toHaveLength(25);
    expect((await t.qm.store.leaks.list({ limit: 100 })).total).toBe(25);
    expect(visibleText(dm)).toMatch(/15 more/);
  }, 60_000);
});

describe('review: Socket Mode never logs a key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' },
      policy: ['version: 1', 'leaks:', `  channels: { slack: ${SEC} }`, ''].join('\n'),
    });
    await t.qm.services.directory.sync();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('a message with a key, delivered over the WebSocket, is caught and its text is in no log line', async () => {
    const key = t.sim.state.apiKeys.find((k) => k.name === 'prod-chat')!;
    const secret = demoSecret(key.id);
    const ws = await waitFor(() => t.slack.sockets.find((s) => s.readyState === 1));
    const ts = `${Math.floor(Date.now() / 1000)}.000100`;
    ws.send(
      JSON.stringify({
        envelope_id: 'env-review-1',
        type: 'events_api',
        accepts_response_payload: false,
        payload: {
          token: 'x',
          team_id: 'T0QM',
          api_app_id: 'A0QM',
          type: 'event_callback',
          event_id: 'EvREVIEW1',
          event_time: Math.floor(Date.now() / 1000),
          event: {
            type: 'message',
            user: 'UBOB',
            text: `here: ${secret}`,
            ts,
            channel: 'C0GENERAL',
            channel_type: 'channel',
            event_ts: ts,
          },
        },
      }),
    );
    await waitFor(
      () => [...t.slack.messages.values()].find((m) => m.channel === SEC && visibleText(m).includes('prod-chat')),
      10_000,
    );
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(secret);
    expect(byPatterns(logs)).toEqual([]);
  }, 60_000);
});

describe('review: webhooks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { GITHUB_WEBHOOK_SECRET: 'gh-secret-0123456789abcdef', LEAK_WEBHOOK_TOKEN: 'leak-token-1234567890' },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const sign = (body: string) =>
    `sha256=${createHmac('sha256', 'gh-secret-0123456789abcdef').update(body).digest('hex')}`;

  it('refuses an uppercase-hex, a truncated and an empty signature; takes the exact one', async () => {
    const body = JSON.stringify({ zen: 'hi', hook_id: 1 });
    const post = (sig: string | null) =>
      fetch(`${t.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'ping',
          'x-github-delivery': 'd-1',
          ...(sig === null ? {} : { 'X-Hub-Signature-256': sig }),
        },
        body,
      });
    expect((await post(sign(body).toUpperCase())).status).toBe(401);
    expect((await post(sign(body).slice(0, 40))).status).toBe(401);
    expect(await post('')).toHaveProperty('status', 401);
    expect((await post(null)).status).toBe(401);
    expect((await post('sha256=')).status).toBe(401);
    expect((await post(sign(body))).status).toBe(200);
  });
});

describe('review: Discord scanning runs on the dispatcher queue', () => {
  it('a scan in flight when Quartermaster shuts down finishes: its alert is posted', async () => {
    const t = await startTestApp({
      discord: true,
      env: { DISCORD_MESSAGE_CONTENT: '1' },
      policy: 'version: 1\nleaks:\n  channels:\n    discord: "1400000000000000200"\n',
    });
    let closed = false;
    try {
      const d = t.discord!;
      await t.qm.services.directory.sync();
      // A key of no one here: the directory is refreshed, and that refresh is slow.
      const secret = `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
      t.sim.faults.inject({ status: 0, delayMs: 1500, method: 'GET', path: '/v1/organizations/api_keys' });
      const before = t.sim.requests.length;
      d.postMessage('bob', `the key: ${secret}`);
      await waitFor(
        () => t.sim.requests.slice(before).some((r) => r.path === '/v1/organizations/api_keys') || undefined,
        10_000,
      );
      await t.qm.close();
      closed = true;
      const alerts = [...d.messages.values()].filter(
        (m) => m.channel_id === '1400000000000000200' && m.author.id === d.appId,
      );
      expect(alerts).toHaveLength(1);
      expect(t.logs.join('\n')).not.toMatch(/discord message scan failed/);
    } finally {
      if (!closed) await t.close();
      else {
        await t.discord?.stop();
        await t.sim.close();
      }
    }
  }, 60_000);
});

describe('review: a huge Slack message does not stall the event loop', () => {
  it('the text of a message of 30,000 block elements (a 1 MB event) is taken in well under a second', () => {
    const els = Array.from({ length: 30_000 }, (_, i) => ({ type: 'text', text: `w${i.toString(36)}x` }));
    const key = `sk-ant-api03-${randomBytes(80).toString('base64url').slice(0, 93)}AA`;
    els.push({ type: 'text', text: key });
    const blocks = [{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: els }] }];
    const started = performance.now();
    const text = messageText({ text: 'hi', blocks });
    expect(performance.now() - started).toBeLessThan(1000);
    // Nothing was left out: the key in the last element is there.
    expect(text).toContain(key);
  });
});
