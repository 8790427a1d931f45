/**
 * The Discord HTTP interactions endpoint (DISCORD_PUBLIC_KEY, no gateway): real Ed25519 signatures made
 * with the application's private key; the first answer is the HTTP response, the rest goes over REST.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../fakes/discord.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

let t: TestApp;
let d: FakeDiscord;

beforeAll(async () => {
  t = await startTestApp({ discord: true, env: { DISCORD_TOKEN: '' } });
  d = t.discord!;
});
afterAll(async () => {
  await t?.close();
});

async function post(signed: { body: string; headers: Record<string, string> }) {
  const res = await fetch(`${t.url}/discord/interactions`, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : null };
}

describe('signature verification', () => {
  it('answers PING with PONG when correctly signed', async () => {
    const r = await post(d.signedInteraction({ id: '1', application_id: d.appId, type: 1, token: 't', version: 1 }));
    expect(r).toEqual({ status: 200, json: { type: 1 } });
  });

  it('rejects a tampered body with 401', async () => {
    const r = await post(
      d.signedInteraction({ id: '1', application_id: d.appId, type: 1, token: 't', version: 1 }, { tamper: true }),
    );
    expect(r.status).toBe(401);
  });

  it('rejects a stale signature (10 minutes old) with 401', async () => {
    const old = Math.floor(Date.now() / 1000) - 600;
    const r = await post(
      d.signedInteraction({ id: '1', application_id: d.appId, type: 1, token: 't', version: 1 }, { timestamp: old }),
    );
    expect(r.status).toBe(401);
  });

  it('rejects a missing signature with 401', async () => {
    const res = await fetch(`${t.url}/discord/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":1}',
    });
    expect(res.status).toBe(401);
  });
});

describe('commands over HTTP', () => {
  it('defers in the HTTP response, then edits @original over REST without the bot token', async () => {
    const payload = d.buildCommand({ user: 'carol', subcommand: 'whoami' });
    const r = await post(d.signedInteraction(payload));
    expect(r).toEqual({ status: 200, json: { type: 5, data: { flags: 64 } } });
    const record = d.interaction(payload.id)!;
    d.acknowledge(record, r.json);
    const reply = await d.replyTo(payload.id, 10_000);
    expect(discordText(reply)).toContain('not linked');
    const edit = d.calls.find(
      (c) => c.method === 'PATCH' && c.path.startsWith(`/webhooks/${d.appId}/${payload.token}`),
    )!;
    expect(edit.auth).toBeUndefined();
  });
});
