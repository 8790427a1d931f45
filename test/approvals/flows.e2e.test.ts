/**
 * The other approval flows end to end on Slack, each from the command to the Admin API: invites (with
 * workspace memberships added once the invite is accepted), workspace membership changes, workspace create
 * and archive, and key disable / enable / archive / rename. Also the refusals the Admin API would give,
 * said before anything is filed. Runs on SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchInvites } from '../../src/core/approvals/invites.js';
import { JOBS } from '../../src/core/jobs.js';
import type { FakeSlackMessage } from '../fakes/slack.js';
import { visibleText, waitFor } from '../fakes/slack.js';
import { auditEntry, startTestApp, type TestApp } from '../support/app.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin] }
  quorum: 1
`;

let t: TestApp;
const run = (text: string, user = 'UBOB') => t.slack.command(t.url, text, user);
const state = () => t.sim.state;
const ws = (name: string) => state().workspaces.find((w) => w.name === name)!;
const user = (email: string) => state().userByEmail(email)!;
const memberRole = (workspace: string, email: string) =>
  state()
    .membersOf(ws(workspace).id)
    .find((m) => m.user_id === user(email).id)?.workspace_role;
const key = (name: string) => state().apiKeys.find((k) => k.name === name)!;
const requestCount = async () => (await t.qm.store.approvals.list({ limit: 1000 })).length;
const status = async (id: string) => (await t.qm.store.approvals.get(id))!.status;
const dmsTo = (u: string) =>
  [...t.slack.messages.values()].filter((m) => m.channel === `D${u}`).map((m) => visibleText(m));

async function file(text: string, u = 'UBOB'): Promise<{ card: FakeSlackMessage; id: string; text: string }> {
  const before = new Set(t.slack.messages.keys());
  const r = await run(text, u);
  expect(visibleText(r.reply)).toContain('Posted in this channel');
  const card = await waitFor(() =>
    [...t.slack.messages.values()].find((m) => !before.has(m.ts) && m.channel === 'C0GENERAL'),
  );
  const id = /Request ([0-9A-Z]{8})/.exec(visibleText(card))![1]!;
  return { card, id, text: visibleText(card) };
}

/** alice (an org admin) approves; resolves once the request is done and its card says so. */
async function approve(card: FakeSlackMessage, id: string): Promise<string> {
  const action = t.slack.buttons(card).Approve!;
  await t.slack.click(t.url, { user: 'UALICE', actionId: action, message: card });
  await waitFor(async () => ['done', 'failed'].includes(await status(id)) || undefined, 10_000);
  expect(await status(id)).toBe('done');
  await waitFor(() => /Done:/.test(visibleText(card)) || undefined);
  expect(t.slack.buttons(card)).toEqual({});
  return visibleText(card);
}

/** A refusal: the reply says `expected`, and no request was filed. */
async function refused(text: string, expected: string | RegExp, u = 'UBOB'): Promise<string> {
  const before = await requestCount();
  const r = await run(text, u);
  const said = visibleText(r.reply);
  if (typeof expected === 'string') expect(said).toContain(expected);
  else expect(said).toMatch(expected);
  expect(said).not.toContain('Posted in this channel');
  expect(await requestCount()).toBe(before);
  return said;
}

beforeAll(async () => {
  t = await startTestApp({ policy: POLICY });
});
afterAll(async () => {
  await t?.close();
});

describe('members invite', () => {
  it('invites once approved, then adds the workspaces when the invite is accepted', async () => {
    const { card, id, text } = await file(
      'members invite newbie@example.com developer workspaces:"prod:workspace_developer, staging:workspace_user" reason:"new hire"',
    );
    expect(text).toContain(
      'Invite newbie@example.com as developer, then add them to prod as workspace_developer, staging as workspace_user',
    );
    expect(text).toContain('new hire');
    expect(text).toContain('1 approval from org `admin`');

    const done = await approve(card, id);
    expect(done).toContain('Invited newbie@example.com as `developer`');
    expect(done).toContain(
      'Once accepted, they will be added to prod (`workspace_developer`), staging (`workspace_user`)',
    );
    const invite = state().invites.find((i) => i.email === 'newbie@example.com')!;
    expect(invite).toMatchObject({ role: 'developer', status: 'pending' });
    expect((await t.qm.store.approvals.get(id))!.result).toMatchObject({ workspacesPending: true });

    // Not accepted yet: nothing to do, nothing changes.
    expect(await watchInvites(t.qm.services)).toBe(0);
    const revisions = card.history.length;

    // The invitee accepts (the org now has them as a member).
    invite.status = 'accepted';
    state().addUser({ email: 'newbie@example.com', role: 'developer' });
    const job = JOBS.find((j) => j.name === 'invites.watch')!;
    expect(await job.run(t.qm.services)).toBe('1 completed');
    expect(memberRole('prod', 'newbie@example.com')).toBe('workspace_developer');
    expect(memberRole('staging', 'newbie@example.com')).toBe('workspace_user');

    await waitFor(() => card.history.length > revisions || undefined);
    expect(visibleText(card)).toContain(
      'newbie@example.com accepted the invite and was added to prod (`workspace_developer`), staging (`workspace_user`).',
    );
    await waitFor(
      () => dmsTo('UBOB').some((m) => m.includes(`Your request ${id}: newbie@example.com accepted`)) || undefined,
    );
    expect((await t.qm.store.approvals.get(id))!.result).toMatchObject({
      workspacesPending: false,
      workspacesAdded: 2,
    });

    // Idempotent: a second run finds nothing left to do and makes no membership call.
    const calls = t.sim.requests.length;
    expect(await watchInvites(t.qm.services)).toBe(0);
    expect(t.sim.requests.slice(calls).filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('a requester who may not list members is not told that the address is already a member', async () => {
    // dave (org role user) may not list members: his request is filed as any other, and its outcome does not
    // confirm that erin is in the organization; the audit log (admins) says so.
    const { card, id } = await file('members invite erin@example.com user', 'UDAVE');
    const done = await approve(card, id);
    expect(done).toContain('No new invite was needed; nothing was sent.');
    expect(done).not.toContain('already a member');
    const told = await waitFor(() => dmsTo('UDAVE').find((m) => m.includes('Done:')));
    expect(told).toContain('No new invite was needed; nothing was sent.');
    expect(told).not.toContain('already a member');
    const audit = await auditEntry(t, (e) => e.action === 'execute member.invite' && !!e.message?.includes('erin'));
    expect(audit.message).toContain('erin@example.com is already a member of the organization; no invite sent.');
    expect(state().invites.some((i) => i.email === 'erin@example.com')).toBe(false);
  });

  it('a requester who may not list members hears the same whether an invite was already pending or is new', async () => {
    state().addInvite({ email: 'pending-one@example.com', role: 'developer' });
    const first = await file('members invite pending-one@example.com user', 'UDAVE');
    const already = await approve(first.card, first.id);
    const second = await file('members invite brand-new@example.com user', 'UDAVE');
    const fresh = await approve(second.card, second.id);
    for (const [text, email] of [
      [already, 'pending-one@example.com'],
      [fresh, 'brand-new@example.com'],
    ] as const) {
      expect(text).toContain(`${email} has an invite to the organization; Anthropic emails them a link to accept it.`);
      expect(text).not.toContain('already pending');
      expect(text).not.toContain('`developer`');
    }
    const audit = await auditEntry(
      t,
      (e) => e.action === 'execute member.invite' && !!e.message?.includes('pending-one'),
    );
    expect(audit.message).toContain('An invite was already pending for pending-one@example.com as `developer`');
    expect(state().invites.filter((i) => i.email === 'pending-one@example.com')).toHaveLength(1);
  });

  it('an invite that expires unaccepted closes the pending part and tells the requester', async () => {
    const { card, id } = await file('members invite ghost@example.com user workspaces:research:workspace_user');
    await approve(card, id);
    state().invites.find((i) => i.email === 'ghost@example.com')!.status = 'expired';
    expect(await watchInvites(t.qm.services)).toBe(1);
    await waitFor(() => /was not accepted \(expired\)/.test(visibleText(card)) || undefined);
    await waitFor(() => dmsTo('UBOB').some((m) => m.includes('no workspaces were added')) || undefined);
    expect(await watchInvites(t.qm.services)).toBe(0);
  });

  it('refuses what the Admin API cannot do, and unknown names, with specific messages', async () => {
    await refused('members invite boss@example.com admin', 'cannot invite anyone as an admin');
    await refused(
      'members invite x@example.com developer workspaces:prod:workspace_billing',
      '`workspace_billing` cannot be given',
    );
    await refused(
      'members invite x@example.com developer workspaces:prd:workspace_user',
      'There is no workspace called `prd`. Did you mean `prod`?',
    );
    await refused(
      'members invite x@example.com developer workspaces:prod:workspace_dev',
      /`workspace_dev` \(for prod\) is not a workspace role\. Did you mean `workspace_(user|developer)`\?/,
    );
    await refused('members invite x@example.com developer workspaces:prod', '`prod` has no role');
    await refused(
      'members invite x@example.com developer workspaces:default:workspace_user',
      'does not manage the members of the Default workspace',
    );
    await refused(
      'members invite x@example.com developer workspaces:old-experiments:workspace_user',
      'Workspace `old-experiments` is archived',
    );
    await refused(
      'members invite x@example.com developer workspaces:prod:workspace_user,prod:workspace_developer',
      'prod is named twice',
    );
    await refused(
      'members invite x@example.com billing workspaces:prod:workspace_developer',
      'the only change the Admin API allows in prod is an upgrade to `workspace_admin`',
    );
    await refused('members invite dave@example.com user', 'dave@example.com is already a member of the organization');
    await refused('members invite not-an-email developer', '`not-an-email` is not an email address');
    expect(state().invites.some((i) => i.email === 'x@example.com' || i.email === 'boss@example.com')).toBe(false);
  });
});

describe('workspace membership', () => {
  it('add-member: a new member, and a role change, each carried out once approved', async () => {
    const added = await file('workspaces add-member prod erin@example.com workspace_user');
    expect(added.text).toContain('Add erin@example.com to prod as workspace_user');
    expect(added.text).toMatch(/Workspace\*?\n?prod/);
    expect(await approve(added.card, added.id)).toContain('erin@example.com is now `workspace_user` in prod');
    expect(memberRole('prod', 'erin@example.com')).toBe('workspace_user');

    const changed = await file('workspaces add-member research dave@example.com workspace_developer');
    expect(changed.text).toContain('Make dave@example.com workspace_developer in research (now workspace_user)');
    await approve(changed.card, changed.id);
    expect(memberRole('research', 'dave@example.com')).toBe('workspace_developer');
  });

  it('remove-member: removed once approved', async () => {
    const { card, id, text } = await file('workspaces remove-member staging heidi@example.com reason:"moved teams"');
    expect(text).toContain('Remove heidi@example.com from staging (now workspace_restricted_developer)');
    expect(await approve(card, id)).toContain('heidi@example.com was removed from staging');
    expect(memberRole('staging', 'heidi@example.com')).toBeUndefined();
  });

  it('refuses org admins, billing members, workspace_billing, the Default workspace and unknown names', async () => {
    await refused(
      'workspaces add-member prod grace@example.com workspace_billing',
      '`workspace_billing` cannot be given',
    );
    await refused(
      'workspaces add-member prod alice@example.com workspace_developer',
      'alice@example.com is an org admin: they are `workspace_admin` in every workspace',
    );
    await refused(
      'workspaces add-member prod carol@example.com workspace_developer',
      'the only change the Admin API allows in prod is an upgrade to `workspace_admin`',
    );
    await refused(
      'workspaces remove-member prod carol@example.com',
      'carol@example.com is an org `billing`: they are `workspace_billing` in every workspace, and the Admin API cannot remove them from prod',
    );
    await refused(
      'workspaces add-member default grace@example.com workspace_user',
      'does not manage the members of the Default workspace',
    );
    await refused(
      'workspaces add-member prodd grace@example.com workspace_user',
      'There is no workspace called `prodd`. Did you mean `prod`?',
    );
    await refused(
      'workspaces add-member prod grase@example.com workspace_user',
      'No org member has the email `grase@example.com`. Did you mean `grace@example.com`?',
    );
    await refused('workspaces remove-member prod grace@example.com', 'grace@example.com is not a member of prod');
    await refused(
      'workspaces add-member prod bob@example.com workspace_developer',
      'bob@example.com already has `workspace_developer` in prod',
    );
  });
});

describe('workspaces create and archive', () => {
  it('create: made once approved; a duplicate active name is refused', async () => {
    const { card, id, text } = await file('workspaces create data-science reason:"own budget"');
    expect(text).toContain('Create workspace data-science');
    expect(await approve(card, id)).toContain('Created workspace *data-science*');
    expect(state().workspaces.filter((w) => w.name === 'data-science')).toHaveLength(1);
    await refused('workspaces create Prod', 'There is already a workspace called `prod`');
    await refused('workspaces create default', 'already has a Default workspace');
  });

  it('archive: the card warns that the keys go too; once approved, the workspace and its keys are archived', async () => {
    const sandbox = state().addWorkspace({ name: 'sandbox' });
    state().addApiKey({ name: 'sandbox-a', workspaceId: sandbox.id });
    state().addApiKey({ name: 'sandbox-b', workspaceId: sandbox.id, status: 'inactive' });
    await t.qm.services.directory.sync();
    // bob is not a member of sandbox, so he may not see its keys: he is not told how many there are, not even
    // once it is done; the audit log (admins) has the count.
    const { card, id, text } = await file('workspaces archive sandbox reason:"experiment over"');
    expect(text).toContain('Archive workspace sandbox: its API keys will be archived too; this cannot be undone');
    expect(text).not.toMatch(/\d+ API key/);
    const done = await approve(card, id);
    expect(done).toContain('its API keys are archived with it');
    expect(done).not.toMatch(/\d+ API key/);
    const told = await waitFor(() => dmsTo('UBOB').find((m) => m.includes('Done: Workspace *sandbox*')));
    expect(told).not.toMatch(/\d+ API key/);
    const audit = await auditEntry(
      t,
      (e) => e.action === 'execute workspace.archive' && e.message?.includes('sandbox') === true,
    );
    expect(audit.message).toContain('2 API keys were archived with it');
    expect(ws('sandbox').archived_at).not.toBeNull();
    expect(
      state()
        .apiKeys.filter((k) => k.scope_workspace_id === sandbox.id)
        .map((k) => k.status),
    ).toEqual(['archived', 'archived']);
  });

  it('archive: a requester who may see every key of the workspace is told how many go', async () => {
    const lab = state().addWorkspace({ name: 'lab' });
    state().addMember(lab.id, user('bob@example.com').id, 'workspace_developer');
    state().addApiKey({ name: 'lab-a', workspaceId: lab.id });
    state().addApiKey({ name: 'lab-b', workspaceId: lab.id, status: 'inactive' });
    await t.qm.services.directory.sync();
    const { card, id, text } = await file('workspaces archive lab');
    expect(text).toContain('Archive workspace lab: its 2 API keys (1 active) will be archived too');
    expect(await approve(card, id)).toContain('Workspace *lab* is archived; 2 API keys were archived with it.');
  });

  it('refuses the Default workspace, an archived one and an unknown one', async () => {
    await refused('workspaces archive Default', 'The Default workspace cannot be archived');
    await refused('workspaces archive old-experiments', 'Workspace `old-experiments` is archived');
    await refused('workspaces archive reserch', 'There is no workspace called `reserch`. Did you mean `research`?');
  });
});

describe('key status and name', () => {
  it('disable, enable, rename and archive, each once approved', async () => {
    const disabled = await file('keys disable prod-chat reason:"suspected leak"');
    expect(disabled.text).toContain('Disable key prod-chat in workspace prod (it can be enabled again)');
    expect(disabled.text).toContain('suspected leak');
    expect(await approve(disabled.card, disabled.id)).toContain('is disabled (inactive)');
    expect(key('prod-chat').status).toBe('inactive');
    await refused('keys disable prod-chat reason:again', 'Key `prod-chat` is already disabled (inactive)');

    const enabled = await file(`keys enable ${key('prod-chat').id} reason:"rotated"`);
    expect(enabled.text).toContain('Enable key prod-chat in workspace prod again');
    expect(await approve(enabled.card, enabled.id)).toContain('is active again');
    expect(key('prod-chat').status).toBe('active');

    const renamed = await file('keys rename prod-chat prod-chat-v2');
    expect(renamed.text).toContain('Rename key prod-chat in workspace prod to prod-chat-v2');
    expect(await approve(renamed.card, renamed.id)).toContain('Key *prod-chat* is now called *prod-chat-v2*');
    expect(state().apiKeys.some((k) => k.name === 'prod-chat')).toBe(false);

    const archived = await file('keys archive prod-chat-v2 reason:"replaced"');
    expect(archived.text).toContain(
      'Archive key prod-chat-v2 in workspace prod: irreversible, the key can never be used again',
    );
    expect(await approve(archived.card, archived.id)).toContain('is archived');
    expect(key('prod-chat-v2').status).toBe('archived');
  });

  it('a Default-workspace key is filed without a workspace', async () => {
    // judy made it: carol (billing) sees every key; bob (developer in prod and staging) does not see it.
    const { card, id, text } = await file('keys disable laptop reason:"lost laptop"', 'UCAROL');
    expect(text).toContain('Disable key laptop in the Default workspace');
    await approve(card, id);
    expect(key('laptop').status).toBe('inactive');
  });

  it('refuses archived and expired keys, unknown keys (with suggestions) and no-op renames', async () => {
    await refused(
      'keys enable prod-legacy reason:"need it back"',
      'Key `prod-legacy` is archived, and archived keys cannot be reactivated',
    );
    await refused(
      'keys disable prod-legacy reason:x',
      'Key `prod-legacy` is archived; an archived key cannot be changed',
    );
    await refused('keys archive prod-legacy reason:x', 'Key `prod-legacy` is already archived');
    await refused(
      'keys enable staging-load-test reason:x',
      'Key `staging-load-test` has expired; an expired key cannot be changed or reactivated',
    );
    await refused('keys rename staging-load-test new-name', 'Key `staging-load-test` has expired');
    await refused(
      'keys disable prod-wroker reason:x',
      'No API key you can see has the id or name `prod-wroker` (you see the keys you created and the keys of workspaces where you are a developer or admin). Did you mean `prod-worker`?',
    );
    await refused('keys rename prod-worker prod-worker', 'Key `prod-worker` already has that name');
    await refused('keys enable prod-worker reason:x', 'Key `prod-worker` is already active');
    await refused('keys disable prod-worker', '`reason`');
  });
});
