/** The committed Slack app manifest is generated from the command definitions; this fails when it drifts. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import { CommandRegistry } from '../src/core/command/define.js';
import { slackManifest } from '../src/slack/manifest.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'manifest', 'slack.json');
const generated = slackManifest(new CommandRegistry(commands)) as any;

describe('manifest/slack.json', () => {
  it('matches the command definitions', () => {
    const committed = readFileSync(file, 'utf8');
    const expected = `${JSON.stringify(generated, null, 2)}\n`;
    // Compare parsed first for a readable diff, then byte for byte (key order, indentation, final newline).
    expect(
      JSON.parse(committed),
      'manifest/slack.json is out of date with the command definitions: run `npm run manifest` and commit it',
    ).toEqual(generated);
    expect(
      committed === expected,
      'manifest/slack.json is not formatted as generated: run `npm run manifest` and commit it',
    ).toBe(true);
  });

  it('asks for the scopes Quartermaster needs', () => {
    const scopes: string[] = generated.oauth_config.scopes.bot;
    expect(scopes).toContain('commands');
    // Linking people by their verified Slack email.
    expect(scopes).toContain('users:read');
    expect(scopes).toContain('users:read.email');
    // Scanning messages for leaked keys (issue 11): channel, private channel and DM history, snippets' text.
    for (const s of ['channels:history', 'groups:history', 'im:history', 'files:read']) expect(scopes).toContain(s);
  });

  it('subscribes to the message events scanned for leaked keys', () => {
    const events: string[] = generated.settings.event_subscriptions.bot_events;
    expect(events).toEqual(expect.arrayContaining(['message.channels', 'message.groups', 'message.im']));
    // Group DMs among people are none of the bot's business.
    expect(events).not.toContain('message.mpim');
    expect(new URL(generated.settings.event_subscriptions.request_url).pathname).toBe('/slack/events');
  });

  it('routes /qm and interactivity to /slack/events', () => {
    const qm = generated.features.slash_commands.find((c: any) => c.command === '/qm');
    expect(qm).toBeDefined();
    expect(new URL(qm.url).pathname).toBe('/slack/events');
    expect(qm.should_escape).toBe(true);
    expect(qm.description.length).toBeLessThanOrEqual(100);
    expect(qm.usage_hint.length).toBeLessThanOrEqual(100);
    expect(new URL(generated.settings.interactivity.request_url).pathname).toBe('/slack/events');
    expect(generated.settings.interactivity.is_enabled).toBe(true);
    expect(generated.oauth_config.redirect_urls.map((u: string) => new URL(u).pathname)).toEqual([
      '/slack/oauth_redirect',
    ]);
  });

  it('uses the given public URL', () => {
    const m = slackManifest(new CommandRegistry(commands), 'https://qm.acme.test') as any;
    expect(m.features.slash_commands[0].url).toBe('https://qm.acme.test/slack/events');
  });
});

describe('the Slack app description', () => {
  const text: string = generated.display_information.long_description;
  const registry = new CommandRegistry(commands);
  const built = new Set(registry.childrenOf([]));

  // What the app directory shows must exist: each feature is announced only once its /qm command is registered.
  it.each([
    ['usage', /digest|usage report/i],
    ['limits', /budget|spend limit/i],
    ['incidents', /leak/i],
  ])('announces what /qm %s does only once that command exists', (command, claim) => {
    if (!built.has(command)) expect(text).not.toMatch(claim);
  });

  it('names only commands that exist', () => {
    for (const word of ['keys', 'members', 'workspaces', 'policy', 'audit']) expect(built.has(word)).toBe(true);
    expect(text.length).toBeGreaterThanOrEqual(175);
    expect(text.length).toBeLessThanOrEqual(4000);
  });
});
