/**
 * Least privilege in what commands say: a caller is only ever matched, suggested or told about keys, members
 * and requests they may list (the rules of `keys list`, `members list`, `requests list`), and something they
 * may not see gets the same answer as something that does not exist. Those who may see it still get the
 * specific answer ("did you mean prod-backend?"). Also: suggestions stay specific with 2,000 keys and a
 * 500-character argument. Real Bolt against the fake Slack and the simulator; SQLite and PostgreSQL.
 *
 * The organization (simulator demo): alice admin, bob developer (workspace_developer in prod and staging),
 * carol billing, dave user (workspace_user in research).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleText, waitFor } from './fakes/slack.js';
import { startTestApp, type TestApp } from './support/app.js';
import { clickCard, slackDms } from './support/slack-cards.js';

// Developers may approve new workspaces, so bob sees (only) those requests besides his own.
const POLICY = `
version: 1
kinds:
  workspace.create:
    approvers: { roles: [admin, developer] }
`;

let t: TestApp;
const say = async (text: string, user: string) => visibleText((await t.slack.command(t.url, text, user)).reply);
const keyId = (name: string) => t.sim.state.apiKeys.find((k) => k.name === name)!.id;
const userId = (email: string) => t.sim.state.userByEmail(email)!.id;
const wsId = (name: string) => t.sim.state.workspaces.find((w) => w.name === name)!.id;
/** Request ids and the typed name differ between two runs; nothing else may. */
const comparable = (text: string, typed: string) =>
  text
    .replaceAll(typed, 'TYPED')
    .replace(/\b[0-9A-Z]{8}\b/g, (m) => (/\d/.test(m) ? 'REQUEST' : m))
    .replace(/Request [0-9A-Z]{8}\b/g, 'Request REQUEST');

/** Runs the same command naming something that exists and something that does not: the answers must be one. */
async function sameAnswer(user: string, template: string, existing: string, missing: string): Promise<string> {
  const a = await say(template.replace('%', existing), user);
  const b = await say(template.replace('%', missing), user);
  expect(comparable(a, existing)).toBe(comparable(b, missing));
  return a;
}

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY });
});
afterAll(async () => {
  await t?.close();
});

describe('keys', () => {
  it('a user is suggested no key names and gets one answer whether a key exists or not, by name or id', async () => {
    const typo = await say('keys disable prod-backen reason:x', 'UDAVE');
    expect(typo).toContain('No API key you can see has the id or name `prod-backen`');
    expect(typo).not.toContain('prod-backend');
    expect(typo).not.toContain('Did you mean');
    await sameAnswer('UDAVE', 'keys disable % reason:x', 'prod-backend', 'qrod-bqckenx');
    await sameAnswer('UDAVE', 'keys rotate % reason:x', keyId('prod-backend'), 'apikey_01NoSuchKeyAtAll000000');
    await sameAnswer('UDAVE', 'keys rename % better-name', 'staging-worker', 'stqging-workex');
  });

  it('an admin (and billing) still get the specific suggestion', async () => {
    expect(await say('keys disable prod-backen reason:x', 'UALICE')).toContain(
      'No API key has the id or name `prod-backen`. Did you mean `prod-backend`? See `/qm keys list`.',
    );
    expect(await say('keys disable research-notebok reason:x', 'UCAROL')).toContain(
      'Did you mean `research-notebook`?',
    );
  });

  it('a developer is suggested only keys of their workspaces and their own', async () => {
    expect(await say('keys disable prod-backen reason:x', 'UBOB')).toContain('Did you mean `prod-backend`?');
    const other = await say('keys disable research-notebok reason:x', 'UBOB');
    expect(other).toContain('No API key you can see has the id or name `research-notebok`');
    expect(other).not.toContain('research-notebook');
    await sameAnswer('UBOB', 'keys disable % reason:x', 'research-notebook', 'rxsearch-notebook');
  });

  it('names that are ambiguous only among keys the caller may not see are neither listed nor ambiguous to them', async () => {
    // A second `staging-chat` in research: bob sees only the staging one, an admin both, dave neither.
    const hidden = t.sim.state.addApiKey({
      name: 'staging-chat',
      workspaceId: wsId('research'),
      createdBy: { id: userId('grace@example.com'), type: 'user' },
    });
    // Made in the Console: commands name keys from the synced directory, so it is known after the next sync.
    await t.qm.services.directory.sync();
    const admin = await say('keys rename staging-chat staging-chat-2', 'UALICE');
    expect(admin).toContain('2 keys are called `staging-chat`; use the key id');
    expect(admin).toContain(hidden.id);
    const bob = await say('keys rename staging-chat staging-chat-2', 'UBOB');
    expect(bob).toContain('(pending): Rename key staging-chat in workspace staging to staging-chat-2');
    expect(bob).not.toContain(hidden.id);
    await sameAnswer('UDAVE', 'keys rename % staging-chat-2', 'staging-chat', 'stqging-chxt');
  });

  it('a user can still name the keys they created (and only see those)', async () => {
    t.sim.state.addApiKey({
      name: 'dave-notebook',
      workspaceId: wsId('research'),
      createdBy: { id: userId('dave@example.com'), type: 'user' },
    });
    await t.qm.services.directory.sync();
    expect(await say('keys disable dave-notebook reason:"done with it"', 'UDAVE')).toContain(
      '(pending): Disable key dave-notebook in workspace research',
    );
    const near = await say('keys disable dave-noteboo reason:x', 'UDAVE');
    expect(near).toContain('Did you mean `dave-notebook`?');
  });
});

describe('members', () => {
  it('a user can name only themselves: other members, by email or mention, get one answer, member or not', async () => {
    const answer = await sameAnswer('UDAVE', 'members role % billing', 'bob@example.com', 'nobody@example.com');
    expect(answer).toContain('You can name only yourself here');
    expect(answer).not.toMatch(/already|now developer|\(`?developer`?\)/);
    await sameAnswer('UDAVE', 'members role % billing', '<@UBOB|bob>', '<@UZED|zed>');
    await sameAnswer('UDAVE', 'workspaces add-member prod % workspace_user', 'grace@example.com', 'grase@example.com');
    await sameAnswer('UDAVE', 'workspaces remove-member staging %', 'heidi@example.com', 'heidy@example.com');
    expect(await say('members role dave@example.com developer reason:"on call"', 'UDAVE')).toContain(
      '(pending): Make dave@example.com developer (now user)',
    );
  });

  it('a user inviting an existing member learns nothing: the request is filed as for anyone else', async () => {
    const before = new Set(t.slack.messages.keys());
    const a = await say('members invite bob@example.com user', 'UDAVE');
    expect(a).toContain('(pending): Invite bob@example.com as user');
    expect(a).not.toContain('already');
    // Approved by mistake, it sends no invite; the requester is told that much, not that bob is a member.
    const card = [...t.slack.messages.values()].find((m) => !before.has(m.ts) && m.channel === 'C0GENERAL')!;
    await clickCard(t, 'UALICE', card, 'Approve');
    const done = await waitFor(() => slackDms(t, 'UDAVE').find((m) => m.includes('nothing was sent')));
    expect(done).toContain('No new invite was needed; nothing was sent.');
    expect(done).not.toMatch(/already a member|developer/);
    const b = await say('members invite contractor@example.org developer', 'UDAVE');
    expect(b).toContain('(pending): Invite contractor@example.org as developer');
    expect(b).not.toMatch(/already|invite is|\(`?user`?\)/);
  });

  it('those who may list members still get the specific answers', async () => {
    expect(await say('members invite bob@example.com user', 'UALICE')).toContain(
      'bob@example.com is already a member of the organization (`developer`)',
    );
    expect(await say('workspaces add-member prod grase@example.com workspace_user', 'UBOB')).toContain(
      'Did you mean `grace@example.com`?',
    );
    expect(await say('members role bob@example.com developer', 'UCAROL')).toContain(
      'bob@example.com already has the `developer` role',
    );
  });
});

describe('requests', () => {
  it('requests list shows what the caller may see: their own, those they may approve; admins all', async () => {
    await say('workspaces create dave-space reason:"team budget"', 'UDAVE');
    await say('workspaces create alice-space', 'UALICE');
    await say('keys disable prod-chat reason:"rotate it"', 'UBOB');
    const all = await t.qm.store.approvals.list({ limit: 500 });
    const id = (summary: string) => all.find((r) => r.summary.startsWith(summary))!.id;
    const dave = id('Create workspace dave-space');
    const alice = id('Create workspace alice-space');
    const bob = id('Disable key prod-chat');

    const daveSees = await say('requests list all', 'UDAVE');
    expect(daveSees).toContain(dave);
    expect(daveSees).not.toContain(alice);
    expect(daveSees).not.toContain(bob);
    expect(daveSees).not.toContain('alice@example.com');
    expect(daveSees).not.toContain('prod-chat');

    // bob may approve new workspaces (the policy above), not key changes of others.
    const bobSees = await say('requests list pending', 'UBOB');
    expect(bobSees).toContain(dave);
    expect(bobSees).toContain(alice);
    expect(bobSees).toContain(bob);
    const adminSees = await say('requests list all', 'UALICE');
    for (const r of [dave, alice, bob]) expect(adminSees).toContain(r);
  });

  it("someone else's request the caller may not see is cancelled as one that does not exist", async () => {
    const all = await t.qm.store.approvals.list({ statuses: ['pending'], limit: 500 });
    const bobs = all.find((r) => r.requester.email === 'bob@example.com')!.id;
    const answer = await sameAnswer('UDAVE', 'requests cancel %', bobs, 'ZZZZZZZZ');
    expect(answer).toContain('There is no request');
    // bob may approve dave's workspace request: he sees it, and is told he may not cancel it.
    const daves = all.find((r) => r.requester.email === 'dave@example.com' && r.kind === 'workspace.create')!.id;
    expect(await say(`requests cancel ${daves}`, 'UBOB')).toContain('Only the requester (or an org admin)');
  });
});

describe('suggestions stay bounded and specific', () => {
  // The bound itself is counted with 2,000 names in test/core/suggest.test.ts; here, the answers through the app
  // (a hundred more keys: every key command stores the whole key list, which is slow with thousands of rows).
  it('with many keys, a 500-character argument gets a specific answer, and a typo still its suggestion', async () => {
    for (let i = 0; i < 100; i++) {
      t.sim.state.addApiKey({ name: `bulk-${String(i).padStart(4, '0')}-service`, workspaceId: wsId('prod') });
    }
    await t.qm.services.directory.sync();
    const long = 'k'.repeat(500);
    const admin = await say(`keys disable ${long} reason:x`, 'UALICE');
    expect(admin).toContain(`No API key has the id or name \`${long}\`. See \`/qm keys list\`.`);
    expect(await say('keys disable bulk-0034-servise reason:x', 'UALICE')).toContain(
      'Did you mean `bulk-0034-service`?',
    );
  });
});
