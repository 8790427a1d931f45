/**
 * The approval policy as code (`quartermaster.yaml`): who may request each kind of change, who approves it,
 * how many approvals it needs, when it expires and where its card is posted. The file is parsed outside the
 * core (src/config/policy-file.ts, with the `yaml` package); policy-schema.ts holds the file's shape and the
 * checks that need only the file; this module checks what only the merged policy shows, merges its layers and
 * answers "what applies to this request?".
 *
 * Merge order, least specific first: built-in defaults ← `defaults` ← `kinds[kind]` ← `workspaces[ws].all` ←
 * `workspaces[ws][kind]`. A layer that names `requesters` or `approvers` replaces that set whole; `channels`
 * merge per platform; every other setting replaces the one below it.
 */
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import { KNOWN_ORG_ROLES } from '../identity/permissions.js';
import { type Nanos, parseUsd } from '../spend/money.js';
import { DEFAULT_PRICES, type ModelPrice, type PriceTable } from '../spend/prices.js';
import {
  checkPolicyFile,
  dedupe,
  type EffectivePolicy,
  formatDuration,
  formatPath,
  isOneOf,
  PolicyError,
  type PolicyFile,
  type PolicyIssue,
  type Principals,
  REQUEST_KINDS,
  type RequestKind,
  type Rule,
  UNITS,
  WORKSPACE_SCOPED_KINDS,
} from './policy-schema.js';

export * from './policy-schema.js';

/** Validate a parsed policy file; throws a PolicyError listing every problem. */
export function loadPolicyFromObject(obj: unknown, origin: string): Policy {
  const { data, issues } = checkPolicyFile(obj);
  // Whether a quorum can be reached is only known once everything else is valid.
  if (data && issues.length === 0) issues.push(...satisfiabilityIssues(new Policy(data, origin)));
  if (!data || issues.length) throw new PolicyError(dedupe(issues), origin);
  return new Policy(data, origin);
}

/** Settings that cannot work once merged: a quorum no one can reach, a reminder after expiry. */
function satisfiabilityIssues(policy: Policy): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  const scopes: (string | null)[] = [null, ...Object.keys(policy.file.workspaces ?? {})];
  for (const ws of scopes) {
    for (const kind of REQUEST_KINDS) {
      if (ws !== null && !WORKSPACE_SCOPED_KINDS.includes(kind)) continue;
      const eff = policy.resolve(kind, ws);
      const a = eff.approvers;
      if (a.roles.length === 0 && a.workspaceRoles.length === 0) {
        const named = new Set([...a.users, ...a.groups.flatMap((g) => policy.groupMembers(g))]);
        if (eff.quorum > named.size) {
          const at = policy.decidedBy(kind, ws, (r) => r.quorum !== undefined || r.approvers !== undefined);
          const field = at.rule.quorum !== undefined ? 'quorum' : 'approvers';
          out.push({
            path: [...at.path, field],
            message: `quorum ${eff.quorum} can never be reached for ${kind}${ws ? ` in workspace ${ws}` : ''}: the approvers name at most ${named.size} ${named.size === 1 ? 'person' : 'people'} (users and groups) and no roles`,
          });
        }
      }
      if (eff.remindBeforeMs > 0 && eff.remindBeforeMs >= eff.expiresAfterMs) {
        const at = policy.decidedBy(kind, ws, (r) => r.remindBeforeMs !== undefined || r.expiresAfterMs !== undefined);
        out.push({
          path: [...at.path, at.rule.remindBeforeMs !== undefined ? 'remind_before' : 'expires_after'],
          message: `remind_before (${formatDuration(eff.remindBeforeMs)}) must be shorter than expires_after (${formatDuration(eff.expiresAfterMs)}) for ${kind}${ws ? ` in workspace ${ws}` : ''}`,
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The policy

const ALL_ROLES: Principals = { roles: [...KNOWN_ORG_ROLES], workspaceRoles: [], users: [], groups: [] };
const ADMINS: Principals = { roles: ['admin'], workspaceRoles: [], users: [], groups: [] };

const BUILT_IN: Required<Omit<Rule, 'channels'>> & { channels: { slack?: string; discord?: string } } = {
  requesters: ALL_ROLES,
  approvers: ADMINS,
  quorum: 1,
  expiresAfterMs: 24 * UNITS.h,
  remindBeforeMs: 2 * UNITS.h,
  maxDurationMs: null,
  grantWindowMs: 1 * UNITS.h,
  channels: {},
  adminsActDirectly: false,
};
const BUILT_IN_KINDS: Partial<Record<RequestKind, Rule>> = {
  'key.request': { grantWindowMs: 1 * UNITS.h, maxDurationMs: 90 * UNITS.d },
  'member.role': { maxDurationMs: 30 * UNITS.d },
  // Billing and admins set limits themselves; they also decide everyone else's.
  'limit.set': { approvers: { roles: ['admin', 'billing'], workspaceRoles: [], users: [], groups: [] } },
  'limit.reenable': { approvers: { roles: ['admin', 'billing'], workspaceRoles: [], users: [], groups: [] } },
};

export const BUILT_IN_ORIGIN = 'built-in defaults';

interface Layer {
  path: (string | number)[];
  rule: Rule;
}

export class Policy {
  readonly file: PolicyFile;
  /** The file path it came from, or `built-in defaults`. */
  readonly origin: string;

  constructor(parsed: PolicyFile, origin: string) {
    this.file = parsed;
    this.origin = origin;
  }

  /**
   * The price table for estimates: the built-in list prices, with the file's `spend.prices` (model id prefix →
   * USD per million tokens) added or replacing entries of the same prefix.
   */
  get prices(): PriceTable {
    const own = this.file.spend?.prices;
    if (!own) return DEFAULT_PRICES;
    const table: Record<string, ModelPrice> = { ...DEFAULT_PRICES };
    for (const [model, p] of Object.entries(own)) {
      table[model] = {
        input: p.input,
        cacheWrite5m: p.cache_write_5m,
        cacheWrite1h: p.cache_write_1h,
        cacheRead: p.cache_read,
        output: p.output,
      };
    }
    return table;
  }

  /** The time zone budgets count their calendar periods in (`spend.timezone`, default UTC). */
  get spendTimezone(): string {
    return this.file.spend?.timezone ?? 'UTC';
  }

  /**
   * When a key's or workspace's spend counts as runaway (`spend.anomalies`): the last hour (or day) above `factor`
   * × the p95 of its own hourly (daily) cost over the `baselineDays` before, and at least the dollar floor.
   */
  get anomalyRules(): { factor: number; minHourNanos: Nanos; minDayNanos: Nanos; baselineDays: number } {
    const a = this.file.spend?.anomalies ?? {};
    return {
      factor: a.factor ?? 3,
      minHourNanos: parseUsd(String(a.min_hour_usd ?? 5)) ?? 5_000_000_000n,
      minDayNanos: parseUsd(String(a.min_day_usd ?? 50)) ?? 50_000_000_000n,
      baselineDays: a.baseline_days ?? 14,
    };
  }

  /** Where spend alerts that belong to no budget go (runaway spend): `spend.channels`, per platform. */
  get spendChannels(): { slack?: string; discord?: string } {
    return { ...(this.file.spend?.channels ?? {}) };
  }

  /** The security channel leak alerts go to (`leaks.channels`), per platform; else the channel where it was seen. */
  get leakChannels(): { slack?: string; discord?: string } {
    return { ...(this.file.leaks?.channels ?? {}) };
  }

  /** `leaks.auto_deactivate`: set a leaked key inactive at once instead of waiting for an approver's click. */
  get leakAutoDeactivate(): boolean {
    return this.file.leaks?.auto_deactivate ?? false;
  }

  /** The built-in policy (no file). */
  static defaults(): Policy {
    return new Policy({}, BUILT_IN_ORIGIN);
  }

  /** The policy key a workspace name resolves to (exact, else case-insensitive), or null. */
  workspaceKey(workspaceName: string | null | undefined): string | null {
    if (!workspaceName) return null;
    const keys = Object.keys(this.file.workspaces ?? {});
    if (keys.includes(workspaceName)) return workspaceName;
    const folded = keys.filter((k) => k.toLowerCase() === workspaceName.toLowerCase());
    return folded.length === 1 ? folded[0]! : null;
  }

  /** Layers that apply to a kind, least specific first (built-in layers have an empty path). */
  private layers(kind: RequestKind, workspaceName?: string | null): Layer[] {
    const out: Layer[] = [{ path: [], rule: BUILT_IN }];
    const builtInKind = BUILT_IN_KINDS[kind];
    if (builtInKind) out.push({ path: [], rule: builtInKind });
    if (this.file.defaults) out.push({ path: ['defaults'], rule: this.file.defaults });
    const k = this.file.kinds?.[kind];
    if (k) out.push({ path: ['kinds', kind], rule: k });
    const ws = WORKSPACE_SCOPED_KINDS.includes(kind) ? this.workspaceKey(workspaceName) : null;
    if (ws) {
      const o = this.file.workspaces?.[ws] ?? {};
      if (o.all) out.push({ path: ['workspaces', ws, 'all'], rule: o.all });
      const wk = o[kind];
      if (wk) out.push({ path: ['workspaces', ws, kind], rule: wk });
    }
    return out;
  }

  /** The most specific layer whose rule satisfies `test` (for pointing errors at the right place). */
  decidedBy(kind: RequestKind, workspaceName: string | null, test: (r: Rule) => boolean): Layer {
    const layers = this.layers(kind, workspaceName);
    for (let i = layers.length - 1; i >= 0; i--) if (test(layers[i]!.rule)) return layers[i]!;
    return layers[0]!;
  }

  /** What applies to a request of this kind (in this workspace, when it is made in one). */
  resolve(kind: RequestKind, workspaceName?: string | null): EffectivePolicy {
    const layers = this.layers(kind, workspaceName);
    const eff: EffectivePolicy = {
      requesters: BUILT_IN.requesters,
      approvers: BUILT_IN.approvers,
      quorum: BUILT_IN.quorum,
      expiresAfterMs: BUILT_IN.expiresAfterMs,
      remindBeforeMs: BUILT_IN.remindBeforeMs,
      maxDurationMs: BUILT_IN.maxDurationMs,
      grantWindowMs: BUILT_IN.grantWindowMs,
      channels: {},
      adminsActDirectly: BUILT_IN.adminsActDirectly,
      source: '',
    };
    for (const { rule } of layers) {
      if (rule.requesters) eff.requesters = rule.requesters;
      if (rule.approvers) eff.approvers = rule.approvers;
      if (rule.quorum !== undefined) eff.quorum = rule.quorum;
      if (rule.expiresAfterMs !== undefined) eff.expiresAfterMs = rule.expiresAfterMs;
      if (rule.remindBeforeMs !== undefined) eff.remindBeforeMs = rule.remindBeforeMs;
      if (rule.maxDurationMs !== undefined) eff.maxDurationMs = rule.maxDurationMs;
      if (rule.grantWindowMs !== undefined) eff.grantWindowMs = rule.grantWindowMs;
      if (rule.channels) eff.channels = { ...eff.channels, ...rule.channels };
      if (rule.adminsActDirectly !== undefined) eff.adminsActDirectly = rule.adminsActDirectly;
    }
    eff.requesters = clonePrincipals(eff.requesters);
    eff.approvers = clonePrincipals(eff.approvers);
    const named = layers
      .filter((l) => l.path.length > 0 && Object.keys(l.rule).length > 0)
      .map((l) => formatPath(l.path))
      .reverse();
    eff.source = [
      ...named.filter((n) => n !== 'defaults'),
      named.includes('defaults') ? 'defaults' : BUILT_IN_ORIGIN,
    ].join(' over ');
    return eff;
  }

  /** Members of a named group (emails lower-cased, chat accounts as written); empty for an unknown group. */
  groupMembers(name: string): string[] {
    return [...(this.file.groups?.[name] ?? [])];
  }

  /** Group names, in file order. */
  groupNames(): string[] {
    return Object.keys(this.file.groups ?? {});
  }

  /** Workspace names with overrides, in file order. */
  workspaceNames(): string[] {
    return Object.keys(this.file.workspaces ?? {});
  }

  /** For `/qm policy show`: every kind's effective settings, the origin, groups and per-workspace overrides. */
  describe(view: PolicyView): Reply {
    const blocks: ReplyBlock[] = [];
    blocks.push({
      type: 'text',
      text: REQUEST_KINDS.map((k) => `${md.bold(k)}: ${summarize(this.resolve(k), this, view)}`).join('\n'),
    });
    const groups = this.groupNames();
    if (groups.length) {
      blocks.push({
        type: 'text',
        text: `**Groups**\n${groups.map((g) => `${md.bold(g)}: ${describeMembers(this.groupMembers(g), view)}`).join('\n')}`,
      });
    }
    const ws = this.workspaceNames();
    if (ws.length) {
      const lines: string[] = [];
      for (const w of ws) {
        const o = this.file.workspaces?.[w] ?? {};
        for (const key of Object.keys(o)) {
          const rule = (o as Record<string, Rule | undefined>)[key];
          if (rule) lines.push(`${md.bold(w)} ${md.code(key)}: ${describeRule(rule, this, view)}`);
        }
      }
      blocks.push({ type: 'text', text: `**Workspace overrides**\n${lines.join('\n') || 'None.'}` });
    }
    blocks.push({ type: 'context', text: this.originLine() });
    return reply({
      title: 'Approval policy',
      blocks,
      summary: `Approval policy from ${this.originName()}`,
    });
  }

  /** For `/qm policy show workspace:…`: what applies to each kind of request made in that workspace. */
  describeWorkspace(workspaceName: string, view: PolicyView): Reply {
    const key = this.workspaceKey(workspaceName);
    const lines = WORKSPACE_SCOPED_KINDS.map((k) => {
      const eff = this.resolve(k, workspaceName);
      const overridden = key !== null && eff.source.startsWith('workspaces.');
      return `${md.bold(k)}: ${summarize(eff, this, view)}${overridden ? ' (workspace override)' : ''}`;
    });
    const blocks: ReplyBlock[] = [{ type: 'text', text: lines.join('\n') }];
    if (!key)
      blocks.push({
        type: 'text',
        text: `No overrides for workspace ${md.code(workspaceName)}: the organization-wide policy applies.`,
      });
    blocks.push({
      type: 'context',
      text: `Requests that are not made in a workspace (${REQUEST_KINDS.filter((k) => !WORKSPACE_SCOPED_KINDS.includes(k)).join(', ')}) follow the organization-wide policy. ${this.originLine()}`,
    });
    return reply({
      title: `Approval policy in ${md.escape(workspaceName)}`,
      blocks,
      summary: `Approval policy for workspace ${workspaceName}`,
    });
  }

  /** For `/qm policy show kind:…`: the resolution for one kind (in one workspace). */
  describeKind(kind: RequestKind, workspaceName: string | null, view: PolicyView): Reply {
    const eff = this.resolve(kind, workspaceName);
    const scoped = WORKSPACE_SCOPED_KINDS.includes(kind);
    const fields = [
      { label: 'Requesters', value: describePrincipals(eff.requesters, this, view) },
      { label: 'Approvers', value: describePrincipals(eff.approvers, this, view) },
      { label: 'Quorum', value: `${eff.quorum} approval${eff.quorum === 1 ? '' : 's'}` },
      {
        label: 'Expires',
        value: `after ${formatDuration(eff.expiresAfterMs)}${eff.remindBeforeMs > 0 ? `, reminder ${formatDuration(eff.remindBeforeMs)} before` : ', no reminder'}`,
      },
      { label: 'Longest duration', value: eff.maxDurationMs === null ? 'no limit' : formatDuration(eff.maxDurationMs) },
      { label: 'Cards posted in', value: describeChannels(eff.channels) },
      { label: 'Admins act directly', value: eff.adminsActDirectly ? 'yes (still audited)' : 'no' },
    ];
    if (kind === 'key.request')
      fields.splice(5, 0, { label: 'Grant window', value: formatDuration(eff.grantWindowMs) });
    const notes: string[] = [];
    if (workspaceName) {
      if (!scoped)
        notes.push(`${md.code(kind)} requests are not made in a workspace; the workspace does not change them.`);
      else if (!this.workspaceKey(workspaceName))
        notes.push(`No overrides for workspace ${md.code(workspaceName)}: the organization-wide policy applies.`);
    }
    return reply({
      title: `Approval policy: ${md.escape(kind)}${workspaceName && scoped ? ` in ${md.escape(workspaceName)}` : ''}`,
      blocks: [
        { type: 'fields', fields },
        ...notes.map((text) => ({ type: 'text' as const, text })),
        { type: 'context', text: `Decided by ${md.code(eff.source)}. ${this.originLine()}` },
      ],
      summary: `${kind}: ${eff.quorum} approval${eff.quorum === 1 ? '' : 's'} by ${plainPrincipals(eff.approvers, view)}`,
    });
  }

  private originLine(): string {
    return this.origin === BUILT_IN_ORIGIN
      ? `Using the built-in defaults: no policy file (set ${md.code('QM_POLICY')} or add ${md.code('quartermaster.yaml')}).`
      : `Policy file ${md.code(this.originName())}.`;
  }

  /** The policy file's base name: where it lives on the server is for the operator, not for chat. */
  private originName(): string {
    return this.origin === BUILT_IN_ORIGIN ? this.origin : (this.origin.split(/[\\/]/).pop() ?? this.origin);
  }
}

function clonePrincipals(p: Principals): Principals {
  return { roles: [...p.roles], workspaceRoles: [...p.workspaceRoles], users: [...p.users], groups: [...p.groups] };
}

function plainPrincipals(p: Principals, view: PolicyView): string {
  const parts = [
    ...p.roles.map((r) => `role ${r}`),
    ...p.workspaceRoles.map((r) => r),
    ...(view.showPeople ? p.users : p.users.length ? [namedPeople(p.users.length)] : []),
    ...p.groups.map((g) => `group ${g}`),
  ];
  return parts.join(', ') || 'nobody';
}

/**
 * Who reads a policy description: people named in the policy (emails, chat accounts) are shown only to those who
 * may list org members (`members:read`); everyone else is told how many.
 */
export interface PolicyView {
  showPeople: boolean;
}

function namedPeople(n: number): string {
  return n === 1 ? '1 named person' : `${n} named people`;
}

function describeMembers(members: string[], view: PolicyView): string {
  if (!members.length) return 'nobody';
  return view.showPeople ? members.map(md.code).join(', ') : namedPeople(members.length);
}

function describePrincipals(p: Principals, policy: Policy, view: PolicyView): string {
  if (p.roles.length === KNOWN_ORG_ROLES.length && !p.workspaceRoles.length && !p.users.length && !p.groups.length)
    return 'any org member';
  const parts: string[] = [];
  if (p.roles.length) parts.push(`org ${p.roles.map(md.code).join(', ')}`);
  if (p.workspaceRoles.length) parts.push(`${p.workspaceRoles.map(md.code).join(', ')} of the workspace`);
  if (p.users.length) parts.push(describeMembers(p.users, view));
  for (const g of p.groups) parts.push(`group ${md.bold(g)} (${policy.groupMembers(g).length})`);
  return parts.join(' or ') || 'nobody';
}

function describeChannels(c: { slack?: string; discord?: string }): string {
  const parts: string[] = [];
  if (c.slack) parts.push(`Slack ${md.code(c.slack)}`);
  if (c.discord) parts.push(`Discord ${md.code(c.discord)}`);
  return parts.length ? `${parts.join(', ')}; elsewhere the request's channel` : 'the channel of the request';
}

/** One line: approvers, quorum, expiry and the kind-specific limits. */
function summarize(eff: EffectivePolicy, policy: Policy, view: PolicyView): string {
  const parts = [
    `${eff.quorum} × ${describePrincipals(eff.approvers, policy, view)}`,
    `expires ${formatDuration(eff.expiresAfterMs)}`,
  ];
  if (eff.maxDurationMs !== null) parts.push(`max ${formatDuration(eff.maxDurationMs)}`);
  if (eff.requesters.roles.length !== KNOWN_ORG_ROLES.length || eff.requesters.workspaceRoles.length)
    parts.push(`requested by ${describePrincipals(eff.requesters, policy, view)}`);
  if (eff.adminsActDirectly) parts.push('admins act directly');
  return parts.join(' · ');
}

function describeRule(rule: Rule, policy: Policy, view: PolicyView): string {
  const parts: string[] = [];
  if (rule.approvers) parts.push(`approvers ${describePrincipals(rule.approvers, policy, view)}`);
  if (rule.requesters) parts.push(`requesters ${describePrincipals(rule.requesters, policy, view)}`);
  if (rule.quorum !== undefined) parts.push(`quorum ${rule.quorum}`);
  if (rule.expiresAfterMs !== undefined) parts.push(`expires ${formatDuration(rule.expiresAfterMs)}`);
  if (rule.remindBeforeMs !== undefined) parts.push(`reminder ${formatDuration(rule.remindBeforeMs)} before`);
  if (rule.maxDurationMs !== undefined)
    parts.push(`max ${rule.maxDurationMs === null ? 'no limit' : formatDuration(rule.maxDurationMs)}`);
  if (rule.grantWindowMs !== undefined) parts.push(`grant window ${formatDuration(rule.grantWindowMs)}`);
  if (rule.channels) parts.push(`cards in ${describeChannels(rule.channels)}`);
  if (rule.adminsActDirectly !== undefined) parts.push(`admins act directly: ${rule.adminsActDirectly ? 'yes' : 'no'}`);
  return parts.join(' · ') || 'nothing';
}

// ---------------------------------------------------------------------------------------------------------------
// Matching people

export interface PrincipalCandidate {
  orgRole: string;
  email: string;
  /** Their role in the request's workspace, or null (none, or the request is not in a workspace). */
  workspaceRole: string | null;
  /** `slack:U123` / `discord:140…`. */
  chatAccount: string;
}

/** Owners and primary owners hold admin permissions (admin-api.md §4). */
const ADMIN_LIKE = new Set(['admin', 'owner', 'primary_owner']);

/**
 * Whether a person is among the principals. An org role the policy does not know never matches a role;
 * org admins count as `workspace_admin` and org billing members as `workspace_billing` everywhere.
 */
export function matchesPrincipals(p: Principals, who: PrincipalCandidate, policy: Policy): boolean {
  const role = ADMIN_LIKE.has(who.orgRole) ? 'admin' : who.orgRole;
  if (isOneOf(KNOWN_ORG_ROLES, role) && p.roles.includes(role)) return true;
  const wsRoles = new Set<string>();
  if (who.workspaceRole) wsRoles.add(who.workspaceRole);
  if (role === 'admin') wsRoles.add('workspace_admin');
  if (role === 'billing') wsRoles.add('workspace_billing');
  if (p.workspaceRoles.some((r) => wsRoles.has(r))) return true;
  const email = who.email.trim().toLowerCase();
  if (email && p.users.includes(email)) return true;
  for (const g of p.groups) {
    const members = policy.groupMembers(g);
    if ((email && members.includes(email)) || (who.chatAccount && members.includes(who.chatAccount))) return true;
  }
  return false;
}
