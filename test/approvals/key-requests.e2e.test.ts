/**
 * Key requests end to end on Slack: request → approve → just-in-time `workspace_developer` in the simulator →
 * the requester "creates the key in the Console" (a key added to the simulator's state, created by them in that
 * workspace) → the watch job binds it and takes the role back; unused grants expire and are revoked; a requester
 * who already has the role gets no grant; a rotation retires the old key only after the grace period; a re-run
 * of the executor changes the role once. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enforceBoundKeyExpiry,
  expireJitGrants,
  keyRequest,
  ROTATION_GRACE_MS,
  retireRotatedKeys,
  watchJitKeys,
} from '../../src/core/approvals/key-requests.js';
import { JOBS } from '../../src/core/jobs.js';
import { runJobOnce } from '../../src/scheduler/scheduler.js';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { fileCard } from '../support/slack-cards.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin] }
  expires_after: 24h
kinds:
  key.request: { grant_window: 1h, max_duration: 90d }
  key.rotate: { grant_window: 1h, max_duration: 90d }
`;
const HOUR = 3_600_000;

let t: TestApp;
const clock = new TestClock();
const run = (text: string, user: string) => t.slack.command(t.url, text, user);
const sim = () => t.sim;
const userId = (email: string) => sim().state.userByEmail(email)!.id;
const wsId = (name: string) => sim().state.workspaces.find((w) => w.name === name)!.id;
const roleIn = (ws: string, email: string) =>
  sim().state.members.find((m) => m.workspace_id === wsId(ws) && m.user_id === userId(email))?.workspace_role ?? null;
const memberCalls = (ws: string) =>
  sim().requests.filter(
    (r) => r.method !== 'GET' && r.path.startsWith(`/v1/organizations/workspaces/${wsId(ws)}/members`),
  );
/** Slack markup (bold, code) taken away, so sentences can be matched as the user reads them. */
const plain = (s: string) => s.replace(/[*`]/g, '');
const dmsTo = (user: string) =>
  [...t.slack.messages.values()].filter((m) => m.channel === `D${user}`).map((m) => plain(visibleText(m)));
const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;
const job = (name: string) => runJobOnce(JOBS.find((j) => j.name === name)!, t.qm.services);

/** The requester "creates the key in the Console": a key created by them, in that workspace, now. */
function consoleCreatesKey(email: string, ws: string, name: string, at = clock.now()) {
  return sim().state.addApiKey({
    name,
    workspaceId: wsId(ws),
    createdBy: { id: userId(email), type: 'user' },
    createdAt: at.toISOString(),
  });
}

const file = (text: string, user: string) => fileCard(t, text, user);

async function approve(card: FakeSlackMessage, id: string) {
  const original = card.history[0] ? { ...card, blocks: card.history[0].blocks } : card;
  await t.slack.click(t.url, { user: 'UALICE', actionId: t.slack.buttons(original).Approve!, message: card });
  await waitFor(async () => ['done', 'failed'].includes(await status(id)) || undefined, 10_000);
  await t.qm.services.approvals.idle();
}

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY, clock });
});
afterAll(async () => {
  await t?.close();
});

describe('keys request', () => {
  it('grants workspace_developer for the window, binds the key once it exists, restores the previous role', async () => {
    // A key dave made long before the request must not be taken for the new one.
    consoleCreatesKey('dave@example.com', 'research', 'dave-old', new Date(clock.now().getTime() - 5 * HOUR));
    expect(roleIn('research', 'dave@example.com')).toBe('workspace_user');

    const { card, id } = await file('keys request research dave-notebook "notebook experiments" 30d', 'UDAVE');
    expect(plain(visibleText(card))).toContain('New API key "dave-notebook" in research for dave@example.com (30d)');
    await approve(card, id);
    expect(await status(id)).toBe('done');
    expect(roleIn('research', 'dave@example.com')).toBe('workspace_developer');

    const steps =
      'Open the Anthropic Console → Settings → API keys → Create key, choose workspace research, name it dave-notebook, expiry 30 days; Quartermaster is watching and will take the temporary role back once the key exists (or in 1h';
    await waitFor(() => plain(visibleText(card)).includes(steps) || undefined);
    await waitFor(() => dmsTo('UDAVE').some((m) => m.includes(steps)) || undefined);
    const [grant] = await t.qm.store.grants.forRequest(id);
    expect(grant).toMatchObject({ kind: 'jit_key', status: 'active', previousRole: 'workspace_user' });
    expect(grant!.expiresAt.getTime() - grant!.grantedAt.getTime()).toBe(HOUR);

    // Nothing yet: the watch finds only the old key.
    expect(await watchJitKeys(t.qm.services)).toBe(0);
    clock.advance(10 * 60_000);
    const key = consoleCreatesKey('dave@example.com', 'research', 'dave-notebook');

    // Two replicas watching at once: one binding, one role change.
    const before = memberCalls('research').length;
    const results = await Promise.all([watchJitKeys(t.qm.services), watchJitKeys(t.qm.services)]);
    expect(results[0]! + results[1]!).toBe(1);
    expect(memberCalls('research').length - before).toBe(1);

    const binding = await t.qm.store.keyBindings.get(key.id);
    expect(binding).toMatchObject({
      requestId: id,
      ownerOrgId: userId('dave@example.com'),
      approverOrgId: userId('alice@example.com'),
      workspaceId: wsId('research'),
      replacesKeyId: null,
    });
    expect(binding!.expiresAt!.getTime()).toBe(Date.parse(key.created_at) + 30 * 24 * HOUR);
    expect(await t.qm.store.grants.get(grant!.id)).toMatchObject({ status: 'bound', boundKeyId: key.id });
    expect(roleIn('research', 'dave@example.com')).toBe('workspace_user');

    await waitFor(
      () =>
        plain(visibleText(card)).includes(`Key dave-notebook ${key.partial_key_hint} bound; temporary role removed`) ||
        undefined,
    );
    await waitFor(
      () =>
        dmsTo('UDAVE').some(
          (m) =>
            m.includes(`Key dave-notebook ${key.partial_key_hint} is bound to request ${id}`) &&
            m.includes('approved by alice@example.com') &&
            m.includes('you are workspace_user there again'),
        ) || undefined,
    );
    // Later runs find nothing more to do.
    expect(await job('grants.watch-keys')).toBe('0 bound');
    expect(await job('grants.expire-jit')).toBe('0 expired');
  });

  it('a bound key is set inactive when the expiry it was approved with passes, once', async () => {
    const binding = (await t.qm.store.keyBindings.list()).find((b) => b.ownerOrgId === userId('dave@example.com'))!;
    expect(await enforceBoundKeyExpiry(t.qm.services)).toBe(0);
    clock.advance(binding.expiresAt!.getTime() - clock.now().getTime() + 60_000);
    const results = await Promise.all([enforceBoundKeyExpiry(t.qm.services), enforceBoundKeyExpiry(t.qm.services)]);
    expect(results[0]! + results[1]!).toBe(1);
    expect(sim().state.apiKeys.find((k) => k.id === binding.keyId)!.status).toBe('inactive');
    expect(
      sim().requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/api_keys/${binding.keyId}`),
    ).toHaveLength(1);
    await waitFor(
      () =>
        dmsTo('UDAVE').some((m) => m.includes('reached the expiry it was approved with and is now inactive')) ||
        undefined,
    );
    expect(await job('keys.enforce-expiry')).toBe('0 expired');
  });

  it('an unused grant expires after the window: the role is taken back and the requester told', async () => {
    expect(roleIn('research', 'bob@example.com')).toBeNull();
    const { card, id } = await file('keys request research bob-scratch "try the research evals"', 'UBOB');
    expect(plain(visibleText(card))).toContain('(90d)');
    await approve(card, id);
    expect(roleIn('research', 'bob@example.com')).toBe('workspace_developer');
    await waitFor(() => plain(visibleText(card)).includes('was not a member') || undefined);

    clock.advance(30 * 60_000);
    expect(await job('grants.expire-jit')).toBe('0 expired');
    clock.advance(31 * 60_000);
    expect(await job('grants.expire-jit')).toBe('1 expired');
    expect(roleIn('research', 'bob@example.com')).toBeNull();
    const [grant] = await t.qm.store.grants.forRequest(id);
    expect(grant!.status).toBe('expired');
    await waitFor(() => plain(visibleText(card)).includes('window to create key bob-scratch closed') || undefined);
    await waitFor(
      () =>
        dmsTo('UBOB').some(
          (m) => m.includes('The window to create key bob-scratch in research') && m.includes('nothing was bound'),
        ) || undefined,
    );
    // A key made after the window closed is not bound to the expired request.
    consoleCreatesKey('bob@example.com', 'research', 'bob-scratch');
    expect(await watchJitKeys(t.qm.services)).toBe(0);
    expect(await expireJitGrants(t.qm.services)).toBe(0);
  });

  it('a requester who already has the role gets no grant, and nothing is revoked', async () => {
    expect(roleIn('prod', 'bob@example.com')).toBe('workspace_developer');
    const before = memberCalls('prod').length;
    const { card, id } = await file('keys request prod bob-billing "billing worker" 7d', 'UBOB');
    await approve(card, id);
    await waitFor(
      () =>
        plain(visibleText(card)).includes(
          'can already create keys in prod (workspace_developer), so no temporary role',
        ) || undefined,
    );
    const [grant] = await t.qm.store.grants.forRequest(id);
    expect(grant).toMatchObject({ previousRole: 'workspace_developer', grantedRole: 'workspace_developer' });
    const key = consoleCreatesKey('bob@example.com', 'prod', 'bob-billing');
    expect(await job('grants.watch-keys')).toBe('1 bound');
    expect((await t.qm.store.keyBindings.get(key.id))!.requestId).toBe(id);
    expect(roleIn('prod', 'bob@example.com')).toBe('workspace_developer');
    expect(memberCalls('prod').length).toBe(before);
    await waitFor(() => plain(visibleText(card)).includes('bound; no temporary role to remove') || undefined);
  });

  it('a re-run of the executor (as after a crash) adds the role once and keeps one grant', async () => {
    const before = memberCalls('staging').length;
    const { card, id } = await file('keys request staging dave-staging "staging checks" 1d', 'UDAVE');
    await approve(card, id);
    expect(roleIn('staging', 'dave@example.com')).toBe('workspace_developer');
    const r = (await t.qm.store.approvals.get(id))!;
    const first = await keyRequest.execute(r, t.qm.services);
    const second = await keyRequest.execute(r, t.qm.services);
    expect(first.message).toBe(second.message);
    expect(memberCalls('staging').length - before).toBe(1);
    expect(await t.qm.store.grants.forRequest(id)).toHaveLength(1);
    // Taken back when the window ends: dave was not a member before.
    clock.advance(2 * HOUR);
    expect(await expireJitGrants(t.qm.services)).toBe(1);
    expect(roleIn('staging', 'dave@example.com')).toBeNull();
  });

  it('a grant the API refuses fails the request, and the watch closes the grant without binding', async () => {
    sim().faults.inject({
      status: 403,
      times: 1,
      method: 'POST',
      path: `/v1/organizations/workspaces/${wsId('research')}/members`,
    });
    const { card, id } = await file('keys request research bob-denied "try again"', 'UBOB');
    await approve(card, id);
    expect(await status(id)).toBe('failed');
    await waitFor(() => plain(visibleText(card)).includes('but it failed') || undefined);
    expect(roleIn('research', 'bob@example.com')).toBeNull();
    consoleCreatesKey('bob@example.com', 'research', 'bob-denied');
    expect(await watchJitKeys(t.qm.services)).toBe(0);
    expect((await t.qm.store.grants.forRequest(id))[0]!.status).toBe('failed');
  });

  it('every key the grantee creates in the window is bound with the approved lifetime, and the card lists each', async () => {
    const { card, id } = await file('keys request staging dave-batch "batch jobs" 7d', 'UDAVE');
    await approve(card, id);
    expect(roleIn('staging', 'dave@example.com')).toBe('workspace_developer');
    clock.advance(60_000);
    // Three keys while the role is held: the requested one and two more.
    const extra1 = consoleCreatesKey('dave@example.com', 'staging', 'dave-side-door');
    clock.advance(1_000);
    const wanted = consoleCreatesKey('dave@example.com', 'staging', 'dave-batch');
    clock.advance(1_000);
    const extra2 = consoleCreatesKey('dave@example.com', 'staging', 'dave-spare');
    expect(await watchJitKeys(t.qm.services)).toBe(1);
    expect(roleIn('staging', 'dave@example.com')).not.toBe('workspace_developer');

    for (const key of [wanted, extra1, extra2]) {
      const binding = await t.qm.store.keyBindings.get(key.id);
      expect(binding, key.name).toMatchObject({
        requestId: id,
        ownerOrgId: userId('dave@example.com'),
        approverOrgId: userId('alice@example.com'),
        workspaceId: wsId('staging'),
      });
      expect(binding!.expiresAt!.getTime()).toBe(Date.parse(key.created_at) + 7 * 24 * HOUR);
    }
    const [grant] = await t.qm.store.grants.forRequest(id);
    expect(grant).toMatchObject({ status: 'bound', boundKeyId: wanted.id });
    await waitFor(() => {
      const text = plain(visibleText(card));
      return (
        (text.includes(`Key dave-batch ${wanted.partial_key_hint} bound`) &&
          text.includes('2 more keys created in the window are bound too') &&
          text.includes(`dave-side-door ${extra1.partial_key_hint}`) &&
          text.includes(`dave-spare ${extra2.partial_key_hint}`)) ||
        undefined
      );
    });
    await waitFor(
      () => dmsTo('UDAVE').some((m) => m.includes('2 more keys created in the window are bound too')) || undefined,
    );

    // Each extra key's approved lifetime is enforced like the requested one's.
    clock.advance(7 * 24 * HOUR + 60_000);
    expect(await enforceBoundKeyExpiry(t.qm.services)).toBeGreaterThanOrEqual(3);
    for (const key of [wanted, extra1, extra2])
      expect(sim().state.apiKeys.find((k) => k.id === key.id)!.status, key.name).toBe('inactive');
  });

  it('refuses the Default workspace, unknown and archived workspaces, and lifetimes over the policy', async () => {
    // carol (billing) sees every key, also those of the Default workspace (bob, a developer, does not).
    const reply = async (text: string) => plain(visibleText((await run(text, 'UCAROL')).reply));
    expect(await reply('keys request default k "r"')).toContain('Keys in the Default workspace cannot be requested');
    const unknown = await reply('keys request nowhere k "r"');
    expect(unknown).toContain('There is no workspace called nowhere');
    // Each name is shown as code once (not quoted inside code: `'prod'`).
    expect(unknown).toMatch(/Workspaces: .*\bprod\b/);
    expect(unknown).not.toMatch(/'(prod|staging|research)'/);
    expect(await reply('keys request old-experiments k "r"')).toContain('old-experiments is archived');
    expect(await reply('keys request prod k "r" 365d')).toContain('expires can be at most 90d');
    expect(await reply('keys request prod k "r" soon')).toContain('is not a duration such as');
    expect(await reply(`keys request prod ${'x'.repeat(101)} "r"`)).toContain('name');
  });
});

describe('keys rotate', () => {
  it('files a linked request; the old key is set inactive only after the grace period', async () => {
    const old = consoleCreatesKey(
      'bob@example.com',
      'prod',
      'bob-service',
      new Date(clock.now().getTime() - 48 * HOUR),
    );
    // Made in the Console: commands name keys from the synced directory, so it is known after the next sync.
    await t.qm.services.directory.sync();
    const { card, id } = await file('keys rotate bob-service "rotate after offboarding"', 'UBOB');
    const day = clock.now().toISOString().slice(0, 10);
    expect(plain(visibleText(card))).toContain(
      `Rotate API key "bob-service" in prod: new key "bob-service (rotated ${day})"`,
    );
    const again = plain(visibleText((await run('keys rotate bob-service "twice"', 'UBOB')).reply));
    expect(again).toContain(`A rotation of bob-service is already under way: request ${id}`);

    await approve(card, id);
    expect((await t.qm.store.approvals.get(id))!.payload.replacesKeyId).toBe(old.id);
    const fresh = consoleCreatesKey('bob@example.com', 'prod', `bob-service (rotated ${day})`);
    expect(await job('grants.watch-keys')).toBe('1 bound');
    expect((await t.qm.store.keyBindings.get(fresh.id))!.replacesKeyId).toBe(old.id);
    await waitFor(() => plain(visibleText(card)).includes('The old key bob-service will be set inactive') || undefined);

    expect(await job('keys.retire-rotated')).toBe('0 retired');
    clock.advance(ROTATION_GRACE_MS - HOUR);
    expect(await retireRotatedKeys(t.qm.services)).toBe(0);
    expect(sim().state.apiKeys.find((k) => k.id === old.id)!.status).toBe('active');

    clock.advance(2 * HOUR);
    const both = await Promise.all([retireRotatedKeys(t.qm.services), retireRotatedKeys(t.qm.services)]);
    expect(both[0]! + both[1]!).toBe(1);
    expect(sim().state.apiKeys.find((k) => k.id === old.id)!.status).toBe('inactive');
    expect(
      sim().requests.filter((r) => r.method === 'POST' && r.path === `/v1/organizations/api_keys/${old.id}`),
    ).toHaveLength(1);
    expect((await t.qm.store.keyBindings.get(fresh.id))!.replacedAt).not.toBeNull();
    expect(await retireRotatedKeys(t.qm.services)).toBe(0);
    await waitFor(
      () =>
        dmsTo('UBOB').some((m) => m.includes(`Rotation of request ${id} is complete: The old key bob-service`)) ||
        undefined,
    );
    const rotatedAgain = plain(visibleText((await run('keys rotate bob-service "again"', 'UBOB')).reply));
    expect(rotatedAgain).toContain('bob-service was already rotated');
  });

  it('refuses archived keys and keys outside a named workspace', async () => {
    // carol (billing) sees every key, also those of the Default workspace (bob, a developer, does not).
    const reply = async (text: string) => plain(visibleText((await run(text, 'UCAROL')).reply));
    expect(await reply('keys rotate prod-legacy "r"')).toContain('prod-legacy is archived; only active or inactive');
    expect(await reply('keys rotate default-playground "r"')).toContain('is in the Default workspace');
    expect(await reply('keys rotate no-such-key "r"')).toContain('No API key has the id or name no-such-key');
  });
});
