/** SLACK_ALLOWED_TEAMS: with the OAuth install, only the workspaces the operator named may install. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INSTALLED_TEAM, OAUTH_GOOD_CODE } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

const CLIENT_ID = '1111111111.2222222222';
const CLIENT_SECRET = 'slack-client-secret-for-tests-abcdef';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: CLIENT_SECRET,
      SLACK_STATE_SECRET: 'slack-state-secret-for-tests-ghijkl',
      SLACK_BOT_TOKEN: '',
      SLACK_ALLOWED_TEAMS: 'T0QM, E0ACME',
    },
  });
  t.slack.oauthClient = { id: CLIENT_ID, secret: CLIENT_SECRET };
});
afterAll(async () => {
  await t?.close();
});

it('refuses an install from a workspace not in SLACK_ALLOWED_TEAMS and stores nothing', async () => {
  const page = await fetch(`${t.url}/slack/install`, { redirect: 'manual' });
  await page.text();
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const state = decodeURIComponent(cookie.split('=')[1] ?? '');
  const res = await fetch(`${t.url}/slack/oauth_redirect?${new URLSearchParams({ code: OAUTH_GOOD_CODE, state })}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  expect(res.status).toBe(403);
  expect(await res.text()).toContain('only serves the Slack workspaces its operator allowed');
  expect(await t.qm.store.slackInstallations.find(`team:${INSTALLED_TEAM.id}`)).toBeNull();
});
