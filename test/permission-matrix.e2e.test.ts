/**
 * The permission matrix: every command in the registry × every org role (and an unlinked chat account) ×
 * both platforms (Slack through real Bolt with signed requests against the fake Slack; Discord through the
 * real discord.js client on the fake gateway). Each answer must be the one the table below expects
 * (allowed, denied, or refused with a specific error), and no answer may carry organization data the caller
 * may not list: key names, ids and hints, member emails and names, pending invitees, workspace names and
 * ids and the organization's name, as the simulator holds them, less what that caller may see and what they
 * typed themselves. Nor may it say how many keys it does not see, or where the policy file lives on the server
 * (the policy names an approver, whose email is forbidden like any member's to those who may not list members).
 * A command with no row here fails the suite, so a new command is covered from the start.
 * One app serves both platforms; SQLite and PostgreSQL (DB_PROVIDER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import type { SimulatorState } from '../src/anthropic/simulator/state.js';
import { CommandRegistry } from '../src/core/command/define.js';
import { parseCommandText } from '../src/core/command/text.js';
import type { FakeDiscordUser } from './fakes/discord.js';
import { visibleText } from './fakes/slack.js';
import { linkChatUser, startTestApp, type TestApp } from './support/app.js';

const ROLES = ['admin', 'developer', 'billing', 'user', 'claude_code_user', 'managed', 'unlinked'] as const;
type Role = (typeof ROLES)[number];

/** allowed · denied (not linked, or not permitted) · refused (a specific error: not found, conflict, invalid). */
type Outcome = 'A' | 'D' | 'R';

/**
 * One invocation per command, in the Slack text form (`@target` is a spare chat account), and what each role
 * gets, in ROLES order. `%alice-request%` is a pending request of alice's that only admins may see.
 * `managed` (an Enterprise role Quartermaster does not know) has the permissions of `user`, but no policy
 * principal matches an unknown role, so the built-in policy (requesters: every known role) refuses its requests.
 */
const MATRIX: Record<string, { text: string; expect: string; oneAtATime?: true }> = {
  help: { text: 'help', expect: 'AAAAAAA' },
  whoami: { text: 'whoami', expect: 'AAAAAAA' },
  link: { text: 'link email:bob@example.com user:@target', expect: 'ADDDDDD' },
  unlink: { text: 'unlink user:@target', expect: 'ADDDDDD' },
  'members list': { text: 'members list', expect: 'AAADDDD' },
  'members role': { text: 'members role bob@example.com billing reason:matrix', expect: 'AAARRRD' },
  // Those who may list members are told carol is one; the others file a request like for anyone else.
  'members invite': { text: 'members invite carol@example.com user', expect: 'RRRAADD' },
  'workspaces list': { text: 'workspaces list', expect: 'AAAAAAD' },
  'workspaces create': { text: 'workspaces create matrix-space reason:matrix', expect: 'AAAAADD' },
  'workspaces archive': { text: 'workspaces archive research reason:matrix', expect: 'AAAAADD' },
  'workspaces add-member': { text: 'workspaces add-member research bob@example.com workspace_user', expect: 'AAARRRD' },
  'workspaces remove-member': { text: 'workspaces remove-member staging heidi@example.com', expect: 'AAARRRD' },
  'keys list': { text: 'keys list', expect: 'AAADDDD' },
  // Who may run it is who may list keys; what each sees is tested in test/spend/usage.e2e.test.ts.
  usage: { text: 'usage 30d key', expect: 'AAADDDD' },
  // Developer and up (bob is a developer in staging); which workspaces each sees is in test/limits/rate.e2e.test.ts.
  'limits rate': { text: 'limits rate staging', expect: 'AAADDDD' },
  // Org billing members cannot be given workspace_developer for a moment (the Admin API keeps workspace_billing).
  'keys request': { text: 'keys request research matrix-key "matrix test" 30d', expect: 'AARAADD' },
  // A key has one rotation under way at a time: each role's is closed before the next role asks.
  'keys rotate': { text: 'keys rotate prod-backend matrix', expect: 'AAARRRD', oneAtATime: true },
  'keys disable': { text: 'keys disable prod-backend reason:matrix', expect: 'AAARRRD' },
  // A typo of a research key (typed nowhere else): admin and billing are pointed at it, the others are not.
  'keys enable': { text: 'keys enable research-notebok reason:matrix', expect: 'RRRRRRD' },
  'keys archive': { text: 'keys archive staging-worker reason:matrix', expect: 'AAARRRD' },
  'keys rename': { text: 'keys rename staging-chat staging-chat-2', expect: 'AAARRRD' },
  audit: { text: 'audit', expect: 'ADDDDDD' },
  'policy show': { text: 'policy show', expect: 'AAAAAAD' },
  'requests list': { text: 'requests list all', expect: 'AAAAAAD' },
  'requests cancel': { text: 'requests cancel %alice-request%', expect: 'ARRRRRD' },
  'digest subscribe': { text: 'digest subscribe daily 09:00 Europe/Berlin', expect: 'ADADDDD' },
  // No channel has a weekly digest: those allowed are told so.
  'digest unsubscribe': { text: 'digest unsubscribe weekly', expect: 'RDRDDDD' },
  'digest preview': { text: 'digest preview', expect: 'ADADDDD' },
  // Billing and admins set it; bob (a prod developer) files a request; the others see no such key.
  'limits set': { text: 'limits set key prod-backend 100 reason:matrix', expect: 'AAARRRD' },
  // Each sees only the budgets they may (the key budget above: admin, billing and prod's developers).
  'limits show': { text: 'limits show', expect: 'AAAAAAD' },
  // No budget on that key: those who see it are told so, the others that there is no such key.
  'limits clear': { text: 'limits clear key staging-backend', expect: 'RRRRRRD' },
  // Admins only (incidents:manage); there is no incident ZZZZZZZZ, so an admin is told so.
  'incidents list': { text: 'incidents list all', expect: 'ADDDDDD' },
  'incidents close': { text: 'incidents close ZZZZZZZZ matrix', expect: 'RDDDDDD' },
  // Admins only (incidents:manage): Discord installs the AutoMod rule (again: it is updated), Slack says it is Discord's.
  'alerts automod': { text: 'alerts automod', expect: 'ADDDDDD' },
};

/** Who plays each role: the org member's email, and their chat accounts. */
const PEOPLE: Record<Role, { email: string; slack: string; discord: string }> = {
  admin: { email: 'alice@example.com', slack: 'UALICE', discord: 'alice' },
  developer: { email: 'bob@example.com', slack: 'UBOB', discord: 'bob' },
  billing: { email: 'carol@example.com', slack: 'UCAROL', discord: 'carol' },
  user: { email: 'dave@example.com', slack: 'UDAVE', discord: 'dave' },
  claude_code_user: { email: 'erin@example.com', slack: 'UERIN', discord: 'erin' },
  managed: { email: 'mona@example.com', slack: 'UMONA', discord: 'mona' },
  // zed's email is not in the organization; mallory never linked.
  unlinked: { email: 'zed@example.com', slack: 'UZED', discord: 'mallory' },
};

/** How many keys there are (in a workspace, or beyond what the caller sees): said only to those who see all. */
const KEY_COUNTS = [/\b\d+ API keys? \(\d+ active\)/, /\b\d+ more keys\b/];
const SEES_ALL_KEYS = new Set<Role>(['admin', 'billing']);

const KEY_VIEWING = new Set(['workspace_developer', 'workspace_restricted_developer', 'workspace_admin']);

/** What a role may list, from the simulator's state; the rest of the organization's data is forbidden to it. */
function forbiddenTokens(state: SimulatorState, role: Role): Set<string> {
  const me = role === 'unlinked' ? undefined : state.userByEmail(PEOPLE[role].email);
  const linked = me !== undefined;
  const seesAllMembers = ['admin', 'developer', 'billing'].includes(role);
  const seesAllKeys = SEES_ALL_KEYS.has(role);
  const myKeyWorkspaces = new Set(
    state.members.filter((m) => m.user_id === me?.id && KEY_VIEWING.has(m.workspace_role)).map((m) => m.workspace_id),
  );
  const out = new Set<string>();
  for (const u of state.users) {
    if (seesAllMembers || u.id === me?.id) continue;
    out.add(u.email);
    out.add(u.name);
  }
  if (!seesAllMembers) for (const i of state.invites) out.add(i.email);
  for (const k of state.apiKeys) {
    const visible =
      linked &&
      (seesAllKeys ||
        k.created_by?.id === me.id ||
        (k.scope_workspace_id !== null && myKeyWorkspaces.has(k.scope_workspace_id)));
    if (visible) continue;
    out.add(k.name);
    out.add(k.id);
    if (k.partial_key_hint) out.add(k.partial_key_hint);
  }
  if (!linked) {
    // Every organization has a Default workspace: its name says nothing.
    for (const w of state.workspaces.filter((x) => !x.is_default)) {
      out.add(w.name);
      out.add(w.id);
    }
    out.add(state.orgName);
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Tokens found as whole words (a key called `prod-chat` is not found inside `prod-chat-2`). */
function found(text: string, tokens: Iterable<string>, typed: Set<string>): string[] {
  const plain = text
    .replace(/\\([*_`~|<>[\]])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return [...tokens].filter(
    (t) => ![...typed].some((x) => x.includes(t)) && new RegExp(`(?<![\\w-])${escapeRe(t)}(?![\\w-])`).test(plain),
  );
}

const registry = new CommandRegistry(commands);
let t: TestApp;

beforeAll(async () => {
  // A group nobody's rule uses: it changes no answer, but `policy show` names its member.
  t = await startTestApp({ discord: true, policy: 'version: 1\ngroups:\n  oncall: [alice@example.com]\n' });
  const d = t.discord!;
  t.sim.state.addUser({ email: 'mona@example.com', name: 'Mona Managed', role: 'managed' });
  await t.qm.services.directory.sync();
  t.slack
    .addUser({ id: 'UERIN', name: 'erin', email: 'erin@example.com' })
    .addUser({ id: 'UMONA', name: 'mona', email: 'mona@example.com' });
  d.addUser('mona');
  d.addUser('target');
  for (const role of ROLES) {
    if (role === 'unlinked') continue;
    const p = PEOPLE[role];
    await linkChatUser(t, 'discord', d.guildId, d.users[p.discord]!.id, p.email);
  }
  await t.qm.services.organization();
});
afterAll(async () => {
  await t?.close();
});

it('has a row for every command in the registry, and a column for every role', () => {
  const missing = registry.commands.map((c) => c.name).filter((n) => !MATRIX[n]);
  expect(missing, `add permission-matrix rows for: ${missing.join(', ')}`).toEqual([]);
  for (const [name, row] of Object.entries(MATRIX)) {
    expect(row.expect, name).toMatch(new RegExp(`^[ADR]{${ROLES.length}}$`));
    const parsed = parseCommandText(
      row.text.replace('@target', '<@UTARGET>').replace('%alice-request%', 'AAAAAAAA'),
      registry,
    );
    expect(parsed.ok && parsed.command.name, row.text).toBe(name);
  }
});

/** The text a Discord reply shows: content, embeds and button labels. */
function discordText(msg: any): string {
  const parts: string[] = [msg?.content ?? ''];
  for (const e of msg?.embeds ?? []) {
    parts.push(e.title ?? '', e.description ?? '', e.footer?.text ?? '');
    for (const f of e.fields ?? []) parts.push(`${f.name}\n${f.value}`);
  }
  for (const row of msg?.components ?? []) for (const c of row.components ?? []) parts.push(c.label ?? '');
  return parts.join('\n');
}

/** The Discord invocation for a Slack text form, from the same definitions (a mention becomes a user option). */
function discordArgs(text: string, target: FakeDiscordUser) {
  const parsed = parseCommandText(text.replace('@target', '<@UTARGET>'), registry);
  if (!parsed.ok) throw new Error(parsed.message);
  const args: Record<string, string | number | boolean | FakeDiscordUser> = {};
  for (const [name, value] of Object.entries(parsed.raw)) {
    const spec = parsed.command.options.find((o) => o.name === name)!;
    if (spec.kind === 'integer') args[name] = Number(value);
    else if (spec.kind === 'boolean') args[name] = value === true || value === 'true';
    else if (spec.kind === 'user') args[name] = target;
    else args[name] = String(value);
  }
  const path = parsed.command.definition.path;
  return path.length === 2 ? { group: path[0], subcommand: path[1]!, args } : { subcommand: path[0]!, args };
}

/** Everything each chat account typed so far: what they typed is theirs to see again. */
const typedBy = new Map<string, Set<string>>();

async function invoke(platform: 'slack' | 'discord', role: Role, text: string) {
  const d = t.discord!;
  const p = PEOPLE[role];
  const actor = platform === 'slack' ? p.slack : d.users[p.discord]!.id;
  const typed = typedBy.get(actor) ?? new Set<string>();
  typedBy.set(actor, typed);
  for (const w of text.replace(/"/g, '').split(/\s+/)) typed.add(w.replace(/^\w+:/, ''));
  const earlier = new Set((await t.qm.store.audit.list({ limit: 50 })).entries.map((e) => e.id));
  let reply: string;
  if (platform === 'slack') {
    const r = await t.slack.command(t.url, text.replace('@target', '<@UNOMAIL|nomail>'), p.slack);
    reply = visibleText(r.reply);
  } else {
    const sent = d.sendCommand({ user: p.discord, ...discordArgs(text, d.users.target!) });
    reply = discordText(await d.replyTo(sent.id, 10_000));
  }
  const end = Date.now() + 5000;
  for (;;) {
    const entry = (await t.qm.store.audit.list({ limit: 50 })).entries.find(
      (e) => !earlier.has(e.id) && e.platform === platform && e.actorId === actor,
    );
    if (entry) return { reply, entry, typed };
    if (Date.now() > end) throw new Error(`no audit entry for ${platform} ${role}: ${text}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A pending request of alice's that only admins may see (the default policy: admins approve). */
async function aliceRequest(): Promise<string> {
  const pending = await t.qm.store.approvals.list({ statuses: ['pending'], limit: 500 });
  const r = pending.find((x) => x.requester.email === 'alice@example.com' && x.kind === 'workspace.create');
  if (!r) throw new Error('alice has no pending workspace request');
  return r.id;
}

describe.each(['slack', 'discord'] as const)('%s', (platform) => {
  it.each(Object.keys(MATRIX))(
    '%s: each role gets the expected answer, and no data it may not list',
    async (name) => {
      const row = MATRIX[name]!;
      const text = row.text.includes('%alice-request%')
        ? row.text.replace('%alice-request%', await aliceRequest())
        : row.text;
      const run = async (role: Role): Promise<{ got: Outcome; leak: string | null }> => {
        const { reply, entry, typed } = await invoke(platform, role, text);
        if (row.oneAtATime) {
          for (const r of await t.qm.store.approvals.list({ statuses: ['pending'], limit: 500 }))
            if (r.kind === 'key.rotate') await t.qm.store.approvals.close(r.id, 'cancelled', new Date(), null);
        }
        const leaked = [
          ...found(reply, [...forbiddenTokens(t.sim.state, role), t.qm.services.policy.origin], typed),
          ...(SEES_ALL_KEYS.has(role) ? [] : KEY_COUNTS.flatMap((re) => reply.match(re) ?? [])),
        ];
        return {
          got: entry.outcome === 'allowed' ? 'A' : entry.outcome === 'denied' ? 'D' : 'R',
          leak: leaked.length ? `${role}: ${leaked.join(', ')} in "${reply.replace(/\s+/g, ' ').slice(0, 300)}"` : null,
        };
      };
      // The roles ask at once (each answer is told apart by its chat account), unless the row says otherwise.
      const results: { got: Outcome; leak: string | null }[] = [];
      if (row.oneAtATime) for (const role of ROLES) results.push(await run(role));
      else results.push(...(await Promise.all(ROLES.map(run))));
      const got = results.map((r) => r.got);
      const leaks = results.flatMap((r) => (r.leak ? [r.leak] : []));
      const table = (s: string) => ROLES.map((r, i) => `${r}:${s[i]}`).join(' ');
      expect(table(got.join('')), `${platform} ${row.text}`).toBe(table(row.expect));
      expect(leaks, `${platform} ${row.text}`).toEqual([]);
      // `digest preview` may first sync the usage and cost reports (35 days, on a busy machine).
    },
    60_000,
  );
});
