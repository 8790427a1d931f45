/** Socket Mode (SLACK_APP_TOKEN): the same /qm over Slack's WebSocket instead of signed HTTP. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_TOKEN, visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' } });
});
afterAll(async () => {
  await t?.close();
});

it('connects with the app-level token and acks each envelope before answering', async () => {
  const open = t.slack.calls.find((c) => c.method === 'apps.connections.open')!;
  expect(open.token).toBe(APP_TOKEN);
  expect(t.qm.slack?.mode).toBe('socket');
  const { ack, reply } = await t.slack.socketCommand('whoami', 'UALICE');
  expect(ack.envelope_id).toMatch(/^env-/);
  expect(reply.response_type).toBe('ephemeral');
  expect(visibleText(reply)).toContain('alice@example.com');
});

it('serves no Slack HTTP endpoint in Socket Mode', async () => {
  const res = await fetch(`${t.url}/slack/events`, { method: 'POST', body: 'x' });
  expect(res.status).toBe(404);
});
