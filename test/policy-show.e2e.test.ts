/**
 * `/qm policy show` through real Bolt against the fake Slack: the people a policy names (approver emails, group
 * members, chat accounts) are shown only to callers who may list org members (`members:read`, developer and up);
 * everyone else is told how many. The policy file is named by its base name only, never by where it lives on the
 * server. SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText } from './fakes/slack.js';
import { startTestApp, type TestApp } from './support/app.js';

const POLICY = `
version: 1
groups:
  security: [alice@example.com, slack:UALICE]
kinds:
  key.request:
    approvers: { users: [alice@example.com], groups: [security] }
  member.role:
    approvers: { users: [alice@example.com] }
`;

let t: TestApp;
const say = async (text: string, user: string) => visibleText((await t.slack.command(t.url, text, user)).reply);

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY });
});
afterAll(async () => {
  await t?.close();
});

const COMMANDS = ['policy show', 'policy show kind:key.request', 'policy show workspace:prod'];

it('a user is told how many people the policy names, not who, and never the server path of the file', async () => {
  const origin = t.qm.services.policy.origin;
  expect(origin).toMatch(/^\/.*\/quartermaster\.yaml$/);
  for (const text of COMMANDS) {
    const said = await say(text, 'UDAVE');
    expect(said, text).not.toContain('alice@example.com');
    expect(said, text).not.toContain('UALICE');
    expect(said, text).not.toContain(origin);
    expect(said, text).toContain('Policy file `quartermaster.yaml`');
  }
  expect(await say('policy show', 'UDAVE')).toContain('*security*: 2 named people');
  expect(await say('policy show kind:key.request', 'UDAVE')).toContain('1 named person or group *security* (2)');
});

it('a developer (members:read) sees the named people; still only the base name of the file', async () => {
  const shown = await say('policy show', 'UBOB');
  expect(shown).toContain('`alice@example.com`, `slack:UALICE`');
  expect(shown).not.toContain(t.qm.services.policy.origin);
  expect(await say('policy show kind:member.role', 'UBOB')).toContain('`alice@example.com`');
});
