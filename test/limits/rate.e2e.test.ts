/**
 * `/qm limits rate [workspace]` end to end: real Bolt against the fake Slack (and one case through real discord.js
 * against the fake Discord), the Admin API simulator over HTTP, a fresh database (SQLite and PostgreSQL by
 * DB_PROVIDER).
 *
 * The simulated organization: alice admin, bob developer (workspace_developer in prod and staging), carol billing,
 * dave user (workspace_user in research). Rate-limit overrides: staging (Sonnet 4.x requests 1,000 and output
 * 100,000 per minute, batch queue 50,000), research (Opus 4.x input 500,000 per minute); prod has none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleText } from '../fakes/slack.js';
import { auditEntry, linkChatUser, startTestApp, type TestApp } from '../support/app.js';
import { discordText } from '../support/discord-text.js';

let t: TestApp;
const say = async (text: string, user: string) =>
  visibleText((await t.slack.command(t.url, text, user)).reply).replace(/\*/g, '');
const rateLimitCalls = () => t.sim.requests.filter((r) => r.path.endsWith('/rate_limits'));

beforeAll(async () => {
  t = await startTestApp({ discord: true });
  await linkChatUser(t, 'discord', t.discord!.guildId, t.discord!.users.bob.id, 'bob@example.com');
});
afterAll(async () => {
  await t?.close();
});

describe('the organization', () => {
  it("shows every group with its models and limits, thousands separators and units, and says they're changed in the Console", async () => {
    const said = await say('limits rate', 'UBOB');
    expect(said).toContain('Claude Opus 4.x · `claude-opus-4-6`, `claude-opus-4-5`, `claude-opus-4-5-20251101`');
    expect(said).toContain('Requests: 4,000 per minute');
    expect(said).toContain('Input tokens (cache reads not counted): 2,000,000 per minute');
    expect(said).toContain('Output tokens: 800,000 per minute');
    expect(said).toContain('Claude Haiku 4.x');
    expect(said).toContain('Message Batches API');
    expect(said).toContain('Batch requests waiting to be processed: 500,000 at a time');
    expect(said).toContain('Web search tool');
    expect(said).toContain('Tool uses: 30 per second');
    expect(said).toContain('Files API');
    expect(said).toContain('changed in the Claude Console');
    expect(said).toContain('Settings → Limits');
    expect(said).not.toContain('Overrides in workspace');
  });

  it('is shown in help to developers and up only, and a user is refused', async () => {
    expect(await say('help', 'UBOB')).toContain('/qm limits rate');
    expect(await say('help', 'UCAROL')).toContain('/qm limits rate');
    expect(await say('help', 'UDAVE')).not.toContain('limits rate');
    const before = rateLimitCalls().length;
    const refused = await say('limits rate', 'UDAVE');
    expect(refused).toMatch(/developer/i);
    expect(refused).not.toContain('Requests:');
    expect(rateLimitCalls().length).toBe(before);
  });
});

describe('a workspace', () => {
  it("shows the workspace's overrides beside the organization's values, then the organization's limits", async () => {
    const said = await say('limits rate staging', 'UBOB');
    expect(said).toContain('Rate limits: workspace staging');
    expect(said).toContain('Overrides in workspace staging');
    expect(said).toContain('Requests: 1,000 per minute (organization: 4,000)');
    expect(said).toContain('Output tokens: 100,000 per minute (organization: 400,000)');
    expect(said).toContain('Batch requests waiting to be processed: 50,000 at a time (organization: 500,000)');
    // The organization's own limits follow.
    expect(said).toContain("Organization's rate limits");
    expect(said).toContain('Requests: 4,000 per minute');
    expect(said).toContain('a workspace’s Rate limits tab');
    const staging = t.sim.state.workspaces.find((w) => w.name === 'staging')!;
    expect(rateLimitCalls().some((r) => r.path === `/v1/organizations/workspaces/${staging.id}/rate_limits`)).toBe(
      true,
    );
  });

  it('says plainly when a workspace has no overrides (prod, and the Default workspace)', async () => {
    const prod = await say('limits rate workspace:prod', 'UBOB');
    expect(prod).toContain('Workspace prod has no rate-limit overrides');
    expect(prod).toContain('Requests: 4,000 per minute');
    expect(prod).not.toContain('(organization:');
    const def = await say('limits rate default', 'UBOB');
    expect(def).toContain('The Default workspace has no rate-limit overrides');
    expect(def).toContain('Claude Sonnet 4.x');
  });

  it('a workspace the caller cannot see gets the same answer as one that does not exist, and no API call', async () => {
    const before = rateLimitCalls().length;
    const hidden = await say('limits rate research', 'UBOB');
    const missing = await say('limits rate moonbase', 'UBOB');
    expect(hidden).toContain('No workspace you can see is called `research`');
    expect(hidden).not.toContain('500,000'); // research's Opus override
    expect(hidden.replaceAll('research', 'X')).toBe(missing.replaceAll('moonbase', 'X'));
    expect(rateLimitCalls().length).toBe(before);
    // Billing sees every workspace's overrides.
    const carol = await say('limits rate research', 'UCAROL');
    expect(carol).toContain('Input tokens (cache reads not counted): 500,000 per minute (organization: 2,000,000)');
    // And for them a missing workspace lists every workspace.
    expect(await say('limits rate moonbase', 'UCAROL')).toContain('There is no workspace called `moonbase`');
  });

  it('user-controlled names are escaped', async () => {
    const said = visibleText((await t.slack.command(t.url, 'limits rate *bold*_x', 'UCAROL')).reply);
    expect(said).toContain('`*bold*_x`');
    expect(said).not.toMatch(/(^|[^`])\*bold\*/);
  });
});

describe('failures', () => {
  it('a 500 from the Admin API is explained, with the attempts and request id', async () => {
    t.sim.faults.inject({ status: 500, path: '/v1/organizations/rate_limits', times: -1 });
    try {
      const said = await say('limits rate', 'UBOB');
      expect(said).toContain("Anthropic's API is having trouble (500) after 3 attempts");
      expect(said).toMatch(/Request id: req_/);
      expect(said).not.toContain('Requests: 4,000');
    } finally {
      t.sim.faults.clear();
    }
    const entry = await auditEntry(t, (e) => e.action === 'limits rate' && e.errorCode === 'UPSTREAM_FAILED');
    expect(entry.outcome).toBe('failed');
    // The fault is gone: the next call answers.
    expect(await say('limits rate', 'UBOB')).toContain('Requests: 4,000 per minute');
  }, 30_000);

  it("a workspace Anthropic no longer knows is said so, in the workspace's name", async () => {
    const staging = t.sim.state.workspaces.find((w) => w.name === 'staging')!;
    t.sim.faults.inject({ status: 404, path: `/v1/organizations/workspaces/${staging.id}/rate_limits` });
    const said = await say('limits rate staging', 'UBOB');
    expect(said).toContain('Anthropic no longer knows workspace `staging`');
  });
});

describe('Discord', () => {
  it("a developer's /qm limits rate shows the workspace's overrides through discord.js", async () => {
    const d = t.discord!;
    const sent = d.sendCommand({ user: 'bob', group: 'limits', subcommand: 'rate', args: { workspace: 'staging' } });
    const text = discordText(await d.replyTo(sent.id, 10_000)).replace(/\*/g, '');
    expect(text).toContain('Rate limits: workspace staging');
    expect(text).toContain('Requests: 1,000 per minute (organization: 4,000)');
    expect(text).toContain('Claude Opus 4.x');
    expect(text).toContain('changed in the Claude Console');
  }, 30_000);
});
