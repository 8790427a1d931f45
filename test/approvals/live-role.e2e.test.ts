/**
 * The caller's org role is read live (Admin API users.retrieve) for anything that changes the organization or
 * shows the audit log: an admin demoted in the Console a moment ago no longer reads `/qm audit` or acts without
 * approval, although the synced directory copy (up to 5 minutes old) still says admin. Read-only lists keep the
 * synced copy. When the live lookup fails, the command is refused with a sentence that says so.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visibleText } from '../fakes/slack.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
const run = (text: string, user = 'UALICE') => t.slack.command(t.url, text, user).then((r) => visibleText(r.reply));
const retrievals = () =>
  t.sim.requests.filter((r) => r.method === 'GET' && /^\/v1\/organizations\/users\/[^/]+$/.test(r.path));

beforeAll(async () => {
  t = await startTestApp({ policy: 'version: 1\ndefaults:\n  admins_act_directly: true\n' });
});
afterAll(async () => {
  await t?.close();
});

it('a demoted admin is refused /qm audit and their change goes through approval at once', async () => {
  expect(await run('audit')).toContain('Audit log');
  const alice = t.sim.state.userByEmail('alice@example.com')!;
  const syncedBefore = await t.qm.store.directory.lastSyncedAt();

  // Demoted in the Console: the synced copy still says admin (no directory sync happens in between).
  alice.role = 'developer';
  const before = retrievals().length;
  const audit = await run('audit');
  expect(audit).toContain('Not allowed');
  expect(audit).toContain('needs the admin org role or higher; you are developer');
  expect(retrievals().length).toBeGreaterThan(before);
  expect(await t.qm.store.directory.lastSyncedAt()).toEqual(syncedBefore);

  const change = await run('members role dave@example.com developer reason:"incident"');
  expect(change).not.toContain('running now');
  expect(change).toContain('Posted in this channel');
  const [latest] = await t.qm.store.approvals.list({ limit: 1 });
  expect(latest).toMatchObject({ kind: 'member.role', status: 'pending' });
  expect(t.sim.state.userByEmail('dave@example.com')!.role).toBe('user');
});

it('read-only lists keep the synced role; a failed live lookup refuses rather than trusting the copy', async () => {
  const alice = t.sim.state.userByEmail('alice@example.com')!;
  alice.role = 'admin';
  const before = retrievals().length;
  expect(await run('workspaces list')).not.toContain('Not allowed');
  expect(retrievals().length).toBe(before);

  t.sim.faults.inject({
    status: 503,
    shouldRetry: false,
    method: 'GET',
    path: /^\/v1\/organizations\/users\/[^/]+$/,
    times: Number.POSITIVE_INFINITY,
  });
  try {
    const cardsBefore = t.slack.messages.size;
    for (const text of ['audit', 'members role dave@example.com developer']) {
      const answer = await run(text);
      expect(answer).toContain('could not confirm your current org role with the Anthropic Admin API');
      expect(answer).not.toContain('Audit log');
    }
    expect(t.slack.messages.size).toBe(cardsBefore);
    expect(t.sim.state.userByEmail('dave@example.com')!.role).toBe('user');
  } finally {
    t.sim.faults.clear();
  }
  expect(await run('audit')).toContain('Audit log');
});

it('a demoted admin cannot link another chat account (to an admin or anyone): linking others reads the role live', async () => {
  const alice = t.sim.state.userByEmail('alice@example.com')!;
  const syncedBefore = await t.qm.store.directory.lastSyncedAt();
  alice.role = 'developer';
  try {
    const before = retrievals().length;
    const answer = await run('link email:alice@example.com user:<@UZED>');
    expect(answer).toContain('Only Anthropic org admins can link other people');
    expect(answer).not.toContain('now acts as');
    expect(retrievals().length).toBeGreaterThan(before);
    expect(await t.qm.store.directory.lastSyncedAt()).toEqual(syncedBefore);
    expect(await t.qm.store.links.listForOrgUser(alice.id)).toHaveLength(1);
    expect(await run('whoami', 'UZED')).not.toContain('alice@example.com');

    // Back to admin, but the Admin API cannot answer: refused with the sentence that says so, nothing linked.
    alice.role = 'admin';
    t.sim.faults.inject({
      status: 503,
      shouldRetry: false,
      method: 'GET',
      path: /^\/v1\/organizations\/users\/[^/]+$/,
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const refused = await run('link email:bob@example.com user:<@UZED>');
      expect(refused).toContain('could not confirm your current org role with the Anthropic Admin API');
      expect(refused).not.toContain('now acts as');
    } finally {
      t.sim.faults.clear();
    }
    expect(await t.qm.store.links.listForOrgUser(t.sim.state.userByEmail('bob@example.com')!.id)).toHaveLength(0);

    // Confirmed live as admin: linking someone else works.
    expect(await run('link email:bob@example.com user:<@UZED>')).toContain('now acts as');
  } finally {
    alice.role = 'admin';
  }
});
