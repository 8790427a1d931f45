/**
 * Multi-workspace OAuth install on Slack, end to end: the real Bolt HTTPReceiver and @slack/oauth InstallProvider
 * behind Quartermaster's HTTP listener, oauth.v2.access on the fake Slack Web API, the installation stored
 * (encrypted) in the real database, then a slash command from the newly installed workspace answered as that
 * workspace's bot. No SLACK_BOT_TOKEN is configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply } from '../../src/core/command/reply.js';
import { buildCore } from '../../src/main.js';
import { SLACK_BOT_SCOPES } from '../../src/slack/manifest.js';
import { INSTALLED_BOT_TOKEN, INSTALLED_TEAM, OAUTH_GOOD_CODE, visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

const CLIENT_ID = '1111111111.2222222222';
const CLIENT_SECRET = 'slack-client-secret-for-tests-abcdef';
const STATE_SECRET = 'slack-state-secret-for-tests-ghijkl';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: CLIENT_SECRET,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_BOT_TOKEN: '',
      SLACK_ALLOWED_TEAMS: '*',
    },
  });
  t.slack.oauthClient = { id: CLIENT_ID, secret: CLIENT_SECRET };
  // A member of the newly installed workspace whose verified Slack email is an org member's.
  t.slack.addUser({ id: 'UOLGA', name: 'olga', email: 'alice@example.com', teamId: INSTALLED_TEAM.id });
});
afterAll(async () => {
  await t?.close();
});

/** GET /slack/install, as a browser: the page and the state cookie it sets. */
async function startInstall(): Promise<{ status: number; html: string; cookie: string; state: string }> {
  const res = await fetch(`${t.url}/slack/install`, { redirect: 'manual' });
  const html = await res.text();
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { status: res.status, html, cookie, state: decodeURIComponent(cookie.split('=')[1] ?? '') };
}

const redirect = (query: Record<string, string>, cookie?: string) =>
  fetch(`${t.url}/slack/oauth_redirect?${new URLSearchParams(query)}`, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });

describe('Slack OAuth install', () => {
  it('GET /slack/install shows the Add to Slack link with our client id and bot scopes, and sets the state cookie', async () => {
    const r = await startInstall();
    expect(r.status).toBe(200);
    const href = /<a href="([^"]+)">\s*<img alt="Add to Slack"/.exec(r.html)?.[1]?.replace(/&amp;/g, '&');
    expect(href).toBeDefined();
    const link = new URL(href!);
    expect(link.origin + link.pathname).toBe('https://slack.com/oauth/v2/authorize');
    expect(link.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(link.searchParams.get('scope')?.split(',')).toEqual([...SLACK_BOT_SCOPES]);
    expect(link.searchParams.get('state')).toBe(r.state);
    expect(r.cookie).toMatch(/^slack-app-oauth-state=.+/);
  });

  it('refuses a redirect whose state is not the one in this browser cookie, without calling Slack', async () => {
    const { cookie } = await startInstall();
    const before = t.slack.calls.length;
    const res = await redirect({ code: OAUTH_GOOD_CODE, state: 'forged-state' }, cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This install link is not valid in this browser');
    // Without the cookie at all (a link opened in another browser), the same.
    const { state } = await startInstall();
    const res2 = await redirect({ code: OAUTH_GOOD_CODE, state });
    expect(res2.status).toBe(400);
    expect(t.slack.calls.slice(before).filter((c) => c.method === 'oauth.v2.access')).toHaveLength(0);
    expect(await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`)).toBeNull();
  });

  it('refuses a code Slack does not accept, and stores nothing', async () => {
    const { cookie, state } = await startInstall();
    const res = await redirect({ code: 'stale-code', state }, cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Slack refused the authorization code (invalid_code)');
    const access = t.slack.calls.filter((c) => c.method === 'oauth.v2.access').at(-1);
    expect(access?.args).toMatchObject({ code: 'stale-code', client_id: CLIENT_ID });
    expect(await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`)).toBeNull();
  });

  it('a good code stores the installation, encrypted; the workspace then uses /qm as its own bot', async () => {
    const { cookie, state } = await startInstall();
    const res = await redirect({ code: OAUTH_GOOD_CODE, state }, cookie);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Thank you!');
    const access = t.slack.calls.filter((c) => c.method === 'oauth.v2.access').at(-1);
    expect(access?.args).toMatchObject({ code: OAUTH_GOOD_CODE, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });

    const row = await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`);
    expect(row).toMatchObject({
      teamId: INSTALLED_TEAM.id,
      enterpriseId: null,
      botUserId: 'UQMBOT2',
      scopes: [...SLACK_BOT_SCOPES],
    });
    expect(row!.ciphertext).toMatch(/^v1\./);
    expect(row!.ciphertext).not.toContain(INSTALLED_BOT_TOKEN);
    expect(row!.ciphertext).not.toContain('xoxb-');
    expect(Buffer.from(row!.ciphertext.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('xoxb-');

    // A signed /qm from the installed workspace: Bolt's authorize fetches (and decrypts) that installation.
    const before = t.slack.calls.length;
    const r = await t.slack.command(t.url, 'whoami', 'UOLGA', { team: INSTALLED_TEAM });
    expect(r.status).toBe(200);
    expect(visibleText(r.reply)).toContain('You are');
    expect(visibleText(r.reply)).toContain('alice@example.com');
    const calls = t.slack.calls.slice(before);
    const lookup = calls.find((c) => c.method === 'users.info' && c.args.user === 'UOLGA');
    expect(lookup?.token).toBe(INSTALLED_BOT_TOKEN);
    expect(lookup?.args.team_id).toBe(INSTALLED_TEAM.id);
    expect(calls.every((c) => c.token === INSTALLED_BOT_TOKEN)).toBe(true);

    // Notifications outside any interaction (cards, DMs) go out as the installed workspace's bot too.
    const notifier = t.qm.services.notifiers.slack!;
    const before2 = t.slack.calls.length;
    await notifier.dm(INSTALLED_TEAM.id, 'UOLGA', reply({ title: 'hello', text: 'from the notifier' }));
    const sent = t.slack.calls.slice(before2);
    expect(sent.map((c) => c.method)).toEqual(['conversations.open', 'chat.postMessage']);
    expect(sent.every((c) => c.token === INSTALLED_BOT_TOKEN)).toBe(true);
    // …and a workspace that never installed the app is told so, not posted to with some other token.
    await expect(notifier.dm('T0NOTINSTALLED', 'UOLGA', reply({ title: 'x', text: 'y' }))).rejects.toThrow(
      /not installed in Slack team:T0NOTINSTALLED/,
    );
  });

  it('the core without chat listeners (CLI jobs) also posts as the installed workspace bot', async () => {
    const core = await buildCore(t.qm.config, { skipMigrate: true, logDestination: { write: () => true } as any });
    try {
      const before = t.slack.calls.length;
      await core.services.notifiers.slack!.post(INSTALLED_TEAM.id, 'C0OTHER', reply({ text: 'digest' }));
      const post = t.slack.calls.slice(before).find((c) => c.method === 'chat.postMessage');
      expect(post).toMatchObject({ token: INSTALLED_BOT_TOKEN, args: { channel: 'C0OTHER' } });
    } finally {
      await core.close();
    }
  });

  it('never logs the installed bot token or the OAuth secrets', () => {
    const logs = t.logs.join('');
    expect(logs).toContain('slack app installed');
    for (const secret of [INSTALLED_BOT_TOKEN, CLIENT_SECRET, STATE_SECRET]) expect(logs).not.toContain(secret);
  });

  it('app_uninstalled deletes the stored installation; the workspace must install again', async () => {
    const { cookie, state } = await startInstall();
    expect((await redirect({ code: OAUTH_GOOD_CODE, state }, cookie)).status).toBe(200);
    expect(await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`)).not.toBeNull();
    const body = JSON.stringify({
      token: 'deprecated-verification-token',
      team_id: INSTALLED_TEAM.id,
      api_app_id: 'A0QM',
      event: { type: 'app_uninstalled', event_ts: `${Date.now() / 1000}` },
      type: 'event_callback',
      event_id: 'Ev0UNINSTALL',
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: INSTALLED_TEAM.id,
          user_id: 'UQMBOT2',
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
    });
    const res = await fetch(`${t.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.slack.sign(body) },
      body,
    });
    expect(res.status).toBe(200);
    await waitFor(async () =>
      (await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`)) === null ? true : undefined,
    );
    // Nothing is sent to that workspace any more: there is no token to send it with.
    await expect(t.qm.services.notifiers.slack!.dm(INSTALLED_TEAM.id, 'UOLGA', reply({ text: 'x' }))).rejects.toThrow(
      /not installed in Slack team:T0OTHER/,
    );
  });
});
