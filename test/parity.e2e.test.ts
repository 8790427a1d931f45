/**
 * Parity: every command, through both adapters, from the same definitions. For each case the Slack run
 * and the Discord run (the same org member on both) must leave the same audit entry, make the same Admin
 * API calls, and show the same content once each platform's markup is taken away. A command without a
 * case here fails the suite, so nothing is added to one platform only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import { CommandRegistry } from '../src/core/command/define.js';
import { parseCommandText } from '../src/core/command/text.js';
import { digestWindow } from '../src/core/spend/digest-compose.js';
import { lastCompleteUtcDay } from '../src/core/spend/digest-schedule.js';
import { ensureSpendData } from '../src/core/spend/sync.js';
import { discordCommands } from '../src/discord/commands-json.js';
import type { FakeDiscord, FakeDiscordUser } from './fakes/discord.js';
import { auditEntry, linkChatUser, startTestApp, type TestApp } from './support/app.js';

/** A realistically shaped API key (not a real one). */
const PASTED_KEY = `sk-ant-api03-${'Vq3_mK8-xZ1pR7'.repeat(7).slice(0, 93)}AA`;

/** Slack text forms; `@dave` stands for the platform's own mention of dave. */
const CASES: Record<string, string[]> = {
  help: ['help'],
  whoami: ['whoami'],
  link: ['link email:nobody@example.com', 'link email:bob@example.com user:@dave', 'link email:alice@example.com'],
  unlink: ['unlink user:@dave', 'unlink user:@dave'],
  'members list': ['members list', 'members list developer', 'members list page:2'],
  'workspaces list': ['workspaces list', 'workspaces list archived'],
  usage: ['usage', 'usage yesterday key', 'usage period:mtd by:member', 'usage lastweek'],
  'limits rate': ['limits rate', 'limits rate staging', 'limits rate default', 'limits rate stagng'],
  'incidents list': ['incidents list', 'incidents list all'],
  'incidents close': ['incidents close ZZZZZZZZ "parity test"', 'incidents close not-an-id x'],
  'alerts automod': ['alerts automod'],
  'keys list': [
    'keys list',
    'keys list workspace:prod status:active',
    'keys list page:3',
    'keys list workspace:prd',
    'keys list mine',
  ],
  audit: ['audit limit:1 page:100000'],
  'members role': [
    'members role dave@example.com developer reason:"on call this week"',
    'members role alice@example.com billing',
    'members role dave@example.com admin',
    'members role dave@example.com developer for:"90 days"',
  ],
  'members invite': [
    'members invite newbie@example.com developer workspaces:"prod:workspace_developer,staging:workspace_user" reason:"new hire"',
    'members invite boss@example.com admin',
    'members invite x@example.com developer workspaces:prod:workspace_billing',
    'members invite x@example.com developer workspaces:prd:workspace_user',
    'members invite dave@example.com user',
  ],
  'workspaces create': ['workspaces create data-science reason:"own budget"', 'workspaces create Prod'],
  'workspaces archive': ['workspaces archive research reason:"project ended"', 'workspaces archive Default'],
  'workspaces add-member': [
    'workspaces add-member prod erin@example.com workspace_user',
    'workspaces add-member prod alice@example.com workspace_developer',
    'workspaces add-member prodd grace@example.com workspace_billing',
    'workspaces add-member prod grase@example.com workspace_user',
  ],
  'workspaces remove-member': [
    'workspaces remove-member staging heidi@example.com reason:"moved teams"',
    'workspaces remove-member prod carol@example.com',
  ],
  'keys request': [
    'keys request research alice-notebook "notebook experiments" 30d',
    'keys request default k "r"',
    'keys request prod k "r" 365d',
  ],
  'keys rotate': ['keys rotate prod-legacy "r"', 'keys rotate default-playground "r"', 'keys rotate no-such-key "r"'],
  'keys disable': [
    'keys disable prod-chat reason:"suspected leak"',
    'keys disable prod-wroker reason:x',
    // A pasted key in an option is refused on both platforms (text on Slack, a structured option on Discord).
    `keys disable prod-chat reason:"leaked ${PASTED_KEY}"`,
  ],
  'keys enable': [
    'keys enable prod-webhooks reason:"back in use"',
    'keys enable prod-legacy reason:x',
    'keys enable staging-load-test reason:x',
  ],
  'keys archive': ['keys archive staging-temp reason:"no longer used"', 'keys archive prod-legacy reason:x'],
  'keys rename': ['keys rename prod-chat prod-chat-v2', 'keys rename prod-worker prod-worker'],
  'requests list': ['requests list', 'requests list pending'],
  'requests cancel': ['requests cancel ZZZZZZZZ', 'requests cancel nope'],
  // Each platform's channel has subscriptions of its own: the same answers on both.
  'digest subscribe': [
    'digest subscribe daily 09:00 Europe/Berlin',
    'digest subscribe weekly 8:30 america/new_york day:fri',
    'digest subscribe daily 25:00',
    'digest subscribe daily 09:00 Mars/Olympus',
  ],
  'digest unsubscribe': ['digest unsubscribe weekly', 'digest unsubscribe weekly'],
  'digest preview': ['digest preview'],
  'policy show': ['policy show', 'policy show kind:key.request workspace:prod', 'policy show workspace:nowhere'],
  // Budgets are one per target whatever the platform: cases that answer the same on the second run (a change of
  // the budget set up below, from another channel; refusals). Setting and clearing: test/limits/commands.e2e.test.ts.
  'limits show': ['limits show key prod-legacy', 'limits show org', 'limits show key no-such-key', 'limits show prod'],
  'limits set': [
    'limits set workspace prod 1200 week 50,90,100',
    'limits set org 5000 target:prod',
    'limits set workspace prod 12x',
    'limits set key prod-chat 10 thresholds:50,abc',
    'limits set key no-such-key 10',
    'limits set workspace prod 100 reenable:manual',
  ],
  'limits clear': ['limits clear key staging-backend', 'limits clear workspace prd', 'limits clear org target:prod'],
};

const registry = new CommandRegistry(commands);
let t: TestApp;
let d: FakeDiscord;
const SLACK_IDS: Record<string, string> = { alice: 'UALICE', dave: 'UDAVE' };
const MENTION = /(^|[\s:])@(alice|dave)\b/g;

beforeAll(async () => {
  t = await startTestApp({ discord: true });
  d = t.discord!;
  // The organization's name is cached after its first use; warm it so both runs make the same calls.
  await t.qm.services.organization();
  // The reports `digest preview` needs are ingested first, or only the first run would fetch them.
  await ensureSpendData(t.qm.services, digestWindow(lastCompleteUtcDay(new Date())));
  // Linked the same way on both platforms, so every reply can be compared word for word.
  await linkChatUser(t, 'slack', t.slack.team.id, 'UALICE', 'alice@example.com');
  await linkChatUser(t, 'discord', d.guildId, d.users.alice.id, 'alice@example.com');
  // Budgets set from another Slack workspace's channel: shown the same way on both platforms.
  const directory = await t.qm.services.directory.read();
  const prod = directory.listWorkspaces().find((w) => w.name === 'prod')!;
  const legacy = directory.listApiKeys().find((k) => k.name === 'prod-legacy')!;
  const elsewhere = { platform: 'slack', teamId: 'T0ELSE', channelId: 'C0ALERTS' } as const;
  const common = {
    ...elsewhere,
    period: 'month' as const,
    timezone: 'UTC',
    thresholds: [50, 80, 100],
    enforce: false,
    reenable: 'next_period' as const,
    createdBy: t.sim.state.userByEmail('alice@example.com')!.id,
  };
  await t.qm.store.limits.upsertBudget(
    {
      ...common,
      scope: 'workspace',
      targetId: prod.id,
      targetName: 'prod',
      workspaceId: prod.id,
      amountNanos: 900n * 10n ** 9n,
    },
    new Date(),
  );
  await t.qm.store.limits.upsertBudget(
    {
      ...common,
      scope: 'key',
      targetId: legacy.id,
      targetName: legacy.name,
      workspaceId: prod.id,
      amountNanos: 100n * 10n ** 9n,
    },
    new Date(),
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
});

it('has a parity case for every command, and every command is in the Discord command JSON', () => {
  const missing = registry.commands.map((c) => c.name).filter((n) => !CASES[n]?.length);
  expect(missing, `add parity cases for: ${missing.join(', ')}`).toEqual([]);
  const [qm] = discordCommands(registry);
  const onDiscord = new Set<string>();
  for (const o of qm!.options ?? []) {
    if (o.type === 1) onDiscord.add(o.name);
    if (o.type === 2) for (const sub of o.options ?? []) onDiscord.add(`${o.name} ${sub.name}`);
  }
  expect(registry.commands.map((c) => c.name).filter((n) => !onDiscord.has(n))).toEqual([]);
});

function normalize(text: string): string[] {
  return (
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .replace(/\u200B/g, '')
      .replace(/<@[A-Z0-9]+>/gi, '@user')
      // Each run files its own request: ids and minute timestamps differ, nothing else may.
      .replace(/\b[2-9A-HJ-NP-TV-Z]{8}\b/g, (m) => (/\d/.test(m) ? 'REQUEST' : m))
      // An id can be all letters: after the word "request" it is an id whatever it is made of.
      .replace(/\b([Rr]equest) [2-9A-HJ-NP-TV-Z]{8}\b/g, '$1 REQUEST')
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/g, 'TIME')
      .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
      .replace(/\[([^\]]+)\]\((https?:[^)]+)\)/g, '$1 ($2)')
      .split('\n')
      .map((l) =>
        l
          .replace(/^:[a-z_]+: /, '')
          .replace(/\\([*_`~|<>[\]])/g, '$1')
          .replace(/[*`_~]/g, '')
          .replace(/\s+/g, ' ')
          .trim(),
      )
      .filter(Boolean)
      .sort()
  );
}

function slackContent(msg: any): string[] {
  const parts: string[] = [];
  for (const b of msg.blocks ?? []) {
    if (b.text?.text) parts.push(b.text.text);
    for (const f of b.fields ?? []) parts.push(f.text);
    for (const e of b.elements ?? []) parts.push(e.text?.text ?? e.text ?? '');
  }
  return normalize(parts.join('\n'));
}

function discordContent(msg: any): string[] {
  const parts: string[] = [];
  for (const e of msg.embeds ?? []) {
    if (e.title) parts.push(e.title);
    if (e.description) parts.push(e.description);
    for (const f of e.fields ?? []) parts.push(`${f.name}\n${f.value}`);
  }
  for (const row of msg.components ?? []) for (const c of row.components ?? []) parts.push(c.label);
  return normalize(parts.join('\n'));
}

/** The Discord invocation for a Slack text form, derived from the same definitions. */
function discordInvocation(text: string): {
  group?: string;
  subcommand: string;
  args: Record<string, string | number | boolean | FakeDiscordUser>;
} {
  const parsed = parseCommandText(
    text.replace(MENTION, (_m, pre, who) => `${pre}<@${SLACK_IDS[who]}>`),
    registry,
  );
  if (!parsed.ok) throw new Error(parsed.message);
  const path = parsed.command.definition.path;
  const args: Record<string, string | number | boolean | FakeDiscordUser> = {};
  for (const [name, value] of Object.entries(parsed.raw)) {
    const spec = parsed.command.options.find((o) => o.name === name)!;
    if (spec.kind === 'integer') args[name] = Number(value);
    else if (spec.kind === 'boolean') args[name] = value === true || value === 'true';
    else if (spec.kind === 'user') {
      const who = Object.entries(SLACK_IDS).find(([, id]) => String(value).includes(id))![0];
      args[name] = d.users[who]!;
    } else args[name] = String(value);
  }
  return path.length === 2 ? { group: path[0], subcommand: path[1]!, args } : { subcommand: path[0]!, args };
}

const apiCalls = (from: number) =>
  t.sim.requests
    .slice(from)
    .map((r) => `${r.method} ${r.path}?${new URLSearchParams(r.query as Record<string, string>).toString()}`);

/**
 * Commands whose answer differs by platform on purpose, with what each platform must say instead of the same words;
 * their audit entries and Admin API calls must still be the same.
 */
const PLATFORM_SPECIFIC: Record<string, { slack: string; discord: string }> = {
  // AutoMod rules exist only on Discord: Discord installs the rule, Slack is told it is a Discord feature.
  'alerts automod': { slack: 'AutoMod is a Discord feature', discord: 'AutoMod rule installed' },
};

describe.each(Object.entries(CASES))('%s', (name, texts) => {
  it.each(texts)('"%s" behaves the same on Slack and Discord', async (text) => {
    const simBefore = t.sim.requests.length;
    // Entries of earlier cases: the reply can come before this run's entry is written, so never take one of these.
    const earlier = new Set((await t.qm.store.audit.list({ limit: 50 })).entries.map((e) => e.id));
    const slack = await t.slack.command(
      t.url,
      text.replace(MENTION, (_m, pre, who) => `${pre}<@${SLACK_IDS[who]}|${who}>`),
      'UALICE',
    );
    const slackAudit = await auditEntry(
      t,
      (e) => !earlier.has(e.id) && e.platform === 'slack' && e.actorId === 'UALICE',
    );
    const slackApi = apiCalls(simBefore);

    const simMiddle = t.sim.requests.length;
    const inv = discordInvocation(text);
    const sent = d.sendCommand({
      user: 'alice',
      ...(inv.group ? { group: inv.group } : {}),
      subcommand: inv.subcommand,
      args: inv.args,
    });
    const discordReply = await d.replyTo(sent.id, 10_000);
    const discordAudit = await auditEntry(
      t,
      (e) =>
        e.platform === 'discord' && e.actorId === d.users.alice.id && e.id !== slackAudit.id && e.at >= slackAudit.at,
    );
    const discordApi = apiCalls(simMiddle);

    const comparable = (a: typeof slackAudit) => ({
      action: a.action,
      outcome: a.outcome,
      stage: a.stage,
      errorCode: a.errorCode,
      orgUserId: a.orgUserId,
    });
    expect(comparable(discordAudit)).toEqual(comparable(slackAudit));
    expect(discordApi).toEqual(slackApi);
    const own = PLATFORM_SPECIFIC[name];
    if (own) {
      expect(slackContent(slack.reply).join('\n')).toContain(own.slack);
      expect(discordContent(discordReply).join('\n')).toContain(own.discord);
    } else expect(discordContent(discordReply)).toEqual(slackContent(slack.reply));
  });
});
