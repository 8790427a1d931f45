/**
 * Every request flow on Discord, from the slash command to the Admin API effect and the final card:
 * filed by a member with typed options, approved by an org admin's button click, carried out, the card edited
 * as the bot. (Refusals and the approval rules are covered flow by flow on Slack and, for the engine itself,
 * on Discord in discord.e2e.test.ts; this walks the happy path of each kind through the Discord adapter.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchJitKeys } from '../../src/core/approvals/key-requests.js';
import type { FakeDiscord } from '../fakes/discord.js';
import { linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordButtons, discordText, newDiscordCard } from '../support/discord-text.js';

const POLICY = `
version: 1
defaults:
  approvers: { roles: [admin] }
`;

let t: TestApp;
let d: FakeDiscord;

const link = (who: string, email: string) => linkChatUser(t, 'discord', d.guildId, d.users[who]!.id, email);

beforeAll(async () => {
  t = await startTestApp({ discord: true, policy: POLICY });
  d = t.discord!;
  await link('alice', 'alice@example.com');
  await link('bob', 'bob@example.com');
});
afterAll(async () => {
  await t?.close();
});

/** Files a request as bob, approves it as alice, and returns the card once it says Done (or failed). */
async function fileAndApprove(group: string, subcommand: string, args: Record<string, string>): Promise<string> {
  const before = new Set(d.messages.keys());
  const sent = d.sendCommand({ user: 'bob', group, subcommand, args });
  const reply = discordText(await d.replyTo(sent.id, 10_000));
  expect(reply, reply).toContain('Posted in this channel');
  const { card, id } = await newDiscordCard(d, before);
  d.sendButton({ user: 'alice', customId: discordButtons(card).Approve!, messageId: card.id });
  await d.waitUntil(
    () => /Done:|failed/.test(discordText(d.messages.get(card.id))) || undefined,
    15_000,
    `request ${id} to finish`,
  );
  const text = discordText(d.messages.get(card.id));
  expect(discordButtons(d.messages.get(card.id))).toEqual({});
  return text;
}

describe('each flow, command to Admin API effect to final card, on Discord', () => {
  it('members invite with workspace memberships', async () => {
    const text = await fileAndApprove('members', 'invite', {
      email: 'newcomer@example.com',
      role: 'developer',
      workspaces: 'prod:workspace_developer',
    });
    expect(text).toContain('Invited newcomer@example.com');
    expect(t.sim.state.invites.some((i) => i.email === 'newcomer@example.com' && i.role === 'developer')).toBe(true);
  });

  it('workspaces create, add-member, remove-member, archive', async () => {
    expect(await fileAndApprove('workspaces', 'create', { name: 'experiments' })).toContain(
      'Created workspace **experiments**',
    );
    const ws = t.sim.state.workspaces.find((w) => w.name === 'experiments')!;
    expect(ws).toBeTruthy();
    expect(
      await fileAndApprove('workspaces', 'add-member', {
        workspace: 'experiments',
        member: 'dave@example.com',
        role: 'workspace_developer',
      }),
    ).toContain('is now `workspace_developer` in experiments');
    const dave = t.sim.state.userByEmail('dave@example.com')!;
    expect(
      t.sim.state.membersOf(ws.id).some((m) => m.user_id === dave.id && m.workspace_role === 'workspace_developer'),
    ).toBe(true);
    expect(
      await fileAndApprove('workspaces', 'remove-member', { workspace: 'experiments', member: 'dave@example.com' }),
    ).toContain('was removed from experiments');
    expect(t.sim.state.membersOf(ws.id).some((m) => m.user_id === dave.id)).toBe(false);
    expect(await fileAndApprove('workspaces', 'archive', { workspace: 'experiments' })).toContain('is archived');
    expect(t.sim.state.workspaces.find((w) => w.id === ws.id)!.archived_at).not.toBeNull();
  });

  it('keys disable, enable, rename, archive', async () => {
    const key = t.sim.state.apiKeys.find((k) => k.name === 'prod-mobile')!;
    expect(await fileAndApprove('keys', 'disable', { key: key.id, reason: 'suspected leak' })).toContain('disabled');
    expect(t.sim.state.apiKeys.find((k) => k.id === key.id)!.status).toBe('inactive');
    expect(await fileAndApprove('keys', 'enable', { key: key.id, reason: 'false alarm' })).toContain('active again');
    expect(t.sim.state.apiKeys.find((k) => k.id === key.id)!.status).toBe('active');
    expect(await fileAndApprove('keys', 'rename', { key: key.id, name: 'prod-mobile-ios' })).toContain(
      'prod-mobile-ios',
    );
    expect(await fileAndApprove('keys', 'archive', { key: key.id, reason: 'app retired' })).toContain('archived');
    expect(t.sim.state.apiKeys.find((k) => k.id === key.id)!.status).toBe('archived');
  });

  it('keys request: just-in-time grant, key bound, temporary role taken back', async () => {
    const research = t.sim.state.workspaces.find((w) => w.name === 'research')!;
    const bob = t.sim.state.userByEmail('bob@example.com')!;
    expect(t.sim.state.membersOf(research.id).some((m) => m.user_id === bob.id)).toBe(false);
    const text = await fileAndApprove('keys', 'request', {
      workspace: 'research',
      name: 'bob-notebook',
      reason: 'analysis',
    });
    expect(text).toContain('Console');
    expect(t.sim.state.membersOf(research.id).find((m) => m.user_id === bob.id)?.workspace_role).toBe(
      'workspace_developer',
    );
    t.sim.state.addApiKey({
      name: 'bob-notebook',
      workspaceId: research.id,
      createdBy: { id: bob.id, type: 'user' },
      createdAt: new Date().toISOString(),
    });
    await watchJitKeys(t.qm.services);
    expect(t.sim.state.membersOf(research.id).some((m) => m.user_id === bob.id)).toBe(false);
    const binding = (await t.qm.store.keyBindings.list()).find(
      (b) => b.ownerOrgId === bob.id && b.workspaceId === research.id,
    );
    expect(binding).toBeTruthy();
  });
});
