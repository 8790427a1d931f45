/**
 * The approval policy as code (`quartermaster.yaml`): who may request each kind of change, who approves it,
 * how many approvals it needs, when it expires and where its card is posted. The file is parsed outside the
 * core (src/config/policy-file.ts, with the `yaml` package); this module validates the parsed object, merges
 * its layers and answers "what applies to this request?".
 *
 * Merge order, least specific first: built-in defaults ← `defaults` ← `kinds[kind]` ← `workspaces[ws].all` ←
 * `workspaces[ws][kind]`. A layer that names `requesters` or `approvers` replaces that set whole; `channels`
 * merge per platform; every other setting replaces the one below it.
 */
import { z } from 'zod';
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import { KNOWN_ORG_ROLES, WORKSPACE_ROLES } from '../identity/permissions.js';
import { closest } from '../suggest.js';

export const REQUEST_KINDS = [
  'key.request',
  'key.rotate',
  'key.disable',
  'key.enable',
  'key.archive',
  'key.rename',
  'member.invite',
  'member.role',
  'workspace.create',
  'workspace.archive',
  'workspace.add_member',
  'workspace.remove_member',
  'link',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** Kinds whose requests are made in one workspace; only these can have per-workspace overrides. */
export const WORKSPACE_SCOPED_KINDS: readonly RequestKind[] = [
  'key.request',
  'key.rotate',
  'key.disable',
  'key.enable',
  'key.archive',
  'key.rename',
  'workspace.archive',
  'workspace.add_member',
  'workspace.remove_member',
];

export interface Principals {
  /** Org roles (`user`, `claude_code_user`, `developer`, `billing`, `admin`). */
  roles: string[];
  /** Roles in the request's workspace; org admins count as `workspace_admin`, org billing as `workspace_billing`. */
  workspaceRoles: string[];
  /** Org member emails, lower-cased. */
  users: string[];
  /** Names of groups defined under `groups`. */
  groups: string[];
}

export interface EffectivePolicy {
  requesters: Principals;
  approvers: Principals;
  quorum: number;
  expiresAfterMs: number;
  /** How long before expiry approvers are reminded; 0 means no reminder. */
  remindBeforeMs: number;
  /** The longest access (key lifetime, time-boxed role) a request may ask for; null means no limit. */
  maxDurationMs: number | null;
  /** How long a just-in-time grant stays open for the requester to act. */
  grantWindowMs: number;
  /** Where cards are posted; an absent platform means the channel the request was made in. */
  channels: { slack?: string; discord?: string };
  /** Org admins' own requests run at once (still audited). */
  adminsActDirectly: boolean;
  /** Which layers decided, most specific first, e.g. `workspaces.prod.key.request over kinds.key.request over defaults`. */
  source: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Durations

const UNITS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const DURATION_RE = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
export const DURATION_FORM =
  'a duration such as 30m, 1h, 24h or 7d (a whole number followed by m, h or d; 1h30m also works)';

/** `90d` → milliseconds; also `30m`, `1h`, `1h30m`, `45s`. Throws on anything else. */
export function parseDuration(text: string): number {
  const t = text.trim().toLowerCase();
  const m = DURATION_RE.exec(t);
  if (!t || !m || m.slice(1).every((g) => g === undefined)) {
    throw new Error(`"${text}" is not ${DURATION_FORM}`);
  }
  const [, d, h, min, s] = m;
  return Number(d ?? 0) * UNITS.d + Number(h ?? 0) * UNITS.h + Number(min ?? 0) * UNITS.m + Number(s ?? 0) * UNITS.s;
}

/**
 * Milliseconds → a form `parseDuration` reads back: `90d`, `24h`, `36h`, `1h30m`, `0m`. Days are used from two
 * days up (a day and a half reads better as 36h).
 */
export function formatDuration(ms: number): string {
  let rest = Math.round(Math.max(0, ms) / 1000) * 1000;
  if (rest === 0) return '0m';
  let out = '';
  for (const [unit, size] of Object.entries(UNITS)) {
    if (unit === 'd' && rest < 2 * UNITS.d) continue;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The file's schema

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CHAT_ACCOUNT_RE = /^(slack:[UW][A-Z0-9]{2,}|discord:\d{15,21})$/;
const GROUP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: (i) => (i.code === 'invalid_type' ? `must be a list of ${what}` : undefined) });

const orgRole = z.string({ error: 'must be an org role name' }).refine((v) => isOneOf(KNOWN_ORG_ROLES, v), {
  error: (i) => unknownName('org role', String(i.input), KNOWN_ORG_ROLES),
});
const workspaceRole = z.string({ error: 'must be a workspace role name' }).refine((v) => isOneOf(WORKSPACE_ROLES, v), {
  error: (i) => unknownName('workspace role', String(i.input), WORKSPACE_ROLES),
});
const email = z
  .string({ error: 'must be an email address' })
  .trim()
  .refine((v) => EMAIL_RE.test(v), { error: (i) => `"${i.input}" is not an email address` })
  .transform((v) => v.toLowerCase());

const principalsSchema = z
  .strictObject(
    {
      roles: list(orgRole, 'org roles').optional(),
      workspace_roles: list(workspaceRole, 'workspace roles').optional(),
      users: list(email, 'email addresses').optional(),
      groups: list(z.string({ error: 'must be a group name' }), 'group names').optional(),
    },
    {
      error: (i) =>
        i.code === 'invalid_type' ? 'must be a map with roles, workspace_roles, users or groups' : undefined,
    },
  )
  .transform(
    (p): Principals => ({
      roles: unique(p.roles ?? []),
      workspaceRoles: unique(p.workspace_roles ?? []),
      users: unique(p.users ?? []),
      groups: unique(p.groups ?? []),
    }),
  );

const duration = z
  .string({ error: `must be ${DURATION_FORM}` })
  .refine((v) => DURATION_RE.test(v.trim().toLowerCase()) && v.trim() !== '', {
    error: (i) => `"${i.input}" is not ${DURATION_FORM}`,
  })
  .transform((v) => parseDuration(v));
const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than zero');

const ruleSchema = z
  .strictObject(
    {
      requesters: principalsSchema.optional(),
      approvers: principalsSchema.optional(),
      quorum: z
        .number({ error: 'must be a whole number between 1 and 10' })
        .int('must be a whole number between 1 and 10')
        .min(1, 'must be between 1 and 10')
        .max(10, 'must be between 1 and 10')
        .optional(),
      expires_after: positiveDuration.optional(),
      remind_before: duration.optional(),
      max_duration: z
        .union([z.literal('none'), z.null(), positiveDuration], {
          error: (i) => `"${i.input}" is not ${DURATION_FORM}, or none for no limit`,
        })
        .optional(),
      grant_window: positiveDuration.optional(),
      channels: z
        .strictObject({
          slack: z
            .string({ error: 'must be a Slack channel id such as C0123456789' })
            .regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123456789 (not a #name)')
            .optional(),
          discord: z
            .union([z.string(), z.number()])
            .superRefine((v, ctx) => {
              if (typeof v === 'number')
                ctx.addIssue({
                  code: 'custom',
                  message:
                    'quote the Discord channel id ("140000000000000200"): unquoted, YAML reads it as a number and loses digits',
                });
              else if (!/^\d{15,21}$/.test(v))
                ctx.addIssue({
                  code: 'custom',
                  message: 'must be a Discord channel id (a 15–21 digit number, quoted)',
                });
            })
            .transform((v) => String(v))
            .optional(),
        })
        .optional(),
      admins_act_directly: z.boolean({ error: 'must be true or false' }).optional(),
    },
    { error: (i) => (i.code === 'invalid_type' ? 'must be a map of policy settings' : undefined) },
  )
  .transform((r): Rule => {
    const out: Rule = {};
    if (r.requesters) out.requesters = r.requesters;
    if (r.approvers) out.approvers = r.approvers;
    if (r.quorum !== undefined) out.quorum = r.quorum;
    if (r.expires_after !== undefined) out.expiresAfterMs = r.expires_after;
    if (r.remind_before !== undefined) out.remindBeforeMs = r.remind_before;
    if (r.max_duration !== undefined) out.maxDurationMs = typeof r.max_duration === 'number' ? r.max_duration : null;
    if (r.grant_window !== undefined) out.grantWindowMs = r.grant_window;
    if (r.channels) {
      out.channels = {};
      if (r.channels.slack) out.channels.slack = r.channels.slack;
      if (r.channels.discord) out.channels.discord = r.channels.discord;
    }
    if (r.admins_act_directly !== undefined) out.adminsActDirectly = r.admins_act_directly;
    return out;
  });

/** One layer of settings, as parsed (camelCase, durations in ms). */
export interface Rule {
  requesters?: Principals;
  approvers?: Principals;
  quorum?: number;
  expiresAfterMs?: number;
  remindBeforeMs?: number;
  maxDurationMs?: number | null;
  grantWindowMs?: number;
  channels?: { slack?: string; discord?: string };
  adminsActDirectly?: boolean;
}

const kindsShape = Object.fromEntries(REQUEST_KINDS.map((k) => [k, ruleSchema.optional()])) as Record<
  RequestKind,
  z.ZodOptional<typeof ruleSchema>
>;

const mapError = (what: string) => ({
  error: (i: { code: string }) => (i.code === 'invalid_type' ? `must be a map of ${what}` : undefined),
});

/** The policy file (snake_case keys), validated and normalised. */
export const policySchema = z.strictObject(
  {
    version: z.literal(1, { error: 'must be 1 (the only policy format so far)' }).optional(),
    groups: z
      .record(
        z.string().regex(GROUP_NAME_RE, 'group names use letters, digits, _, - and . only'),
        list(
          z
            .string({ error: 'must be an email address or a chat account (slack:U123, discord:123…)' })
            .trim()
            .refine((v) => EMAIL_RE.test(v) || CHAT_ACCOUNT_RE.test(v), {
              error: (i) =>
                `"${i.input}" is neither an email address nor a chat account (slack:U0ABC123 or discord:<15–21 digit id>)`,
            })
            .transform((v) => (EMAIL_RE.test(v) ? v.toLowerCase() : v)),
          'emails or chat accounts',
        ),
        mapError('group name → members'),
      )
      .optional(),
    defaults: ruleSchema.optional(),
    kinds: z.strictObject(kindsShape, mapError('request kind → settings')).optional(),
    workspaces: z
      .record(
        z.string().min(1),
        z.strictObject({ all: ruleSchema.optional(), ...kindsShape }, mapError('`all` or request kind → settings')),
        mapError('workspace name → overrides'),
      )
      .optional(),
  },
  mapError('version, groups, defaults, kinds and workspaces'),
);

export type PolicyFile = z.output<typeof policySchema>;

// ---------------------------------------------------------------------------------------------------------------
// Errors

export interface PolicyIssue {
  /** Where in the file, e.g. `['kinds', 'member.role', 'quorum']`. */
  path: (string | number)[];
  message: string;
}

/** Every problem of a policy file at once; each message starts with its YAML path. */
export class PolicyError extends Error {
  readonly problems: string[];
  constructor(
    readonly issues: PolicyIssue[],
    readonly origin: string,
    /** Optional decoration of each problem (the file loader adds line numbers). */
    locate?: (issue: PolicyIssue) => string | null,
  ) {
    const problems = issues.map((i) => {
      const where = locate?.(i);
      return `${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}${where ? ` (${where})` : ''}`;
    });
    super(
      `The approval policy ${origin} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

/** `['kinds', 'member.role', 'quorum']` → `kinds.member.role.quorum`; list items as `roles[0]`. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

const TOP_LEVEL_KEYS = ['version', 'groups', 'defaults', 'kinds', 'workspaces'];
const RULE_KEYS = [
  'requesters',
  'approvers',
  'quorum',
  'expires_after',
  'remind_before',
  'max_duration',
  'grant_window',
  'channels',
  'admins_act_directly',
];
const PRINCIPAL_KEYS = ['roles', 'workspace_roles', 'users', 'groups'];

/** The keys allowed at a path, for "did you mean" on an unknown key. */
function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return TOP_LEVEL_KEYS;
  if (path.length === 1 && path[0] === 'kinds') return REQUEST_KINDS;
  if (path.length === 2 && path[0] === 'workspaces') return ['all', ...REQUEST_KINDS];
  if (last === 'requesters' || last === 'approvers') return PRINCIPAL_KEYS;
  if (last === 'channels') return ['slack', 'discord'];
  return RULE_KEYS;
}

function unknownKeyMessage(path: readonly PropertyKey[], key: string): string {
  const allowed = allowedKeysAt(path);
  const isKind = (path.length === 1 && path[0] === 'kinds') || (path.length === 2 && path[0] === 'workspaces');
  const what = path.length === 0 ? 'top-level key' : isKind ? 'request kind' : 'key';
  const guess = closest(key, allowed);
  return guess
    ? `unknown ${what} "${key}" (did you mean ${guess}?)`
    : `unknown ${what} "${key}"; expected one of ${allowed.join(', ')}`;
}

/** Validate a parsed policy file; throws a PolicyError listing every problem. */
export function loadPolicyFromObject(obj: unknown, origin: string): Policy {
  const input = obj === null || obj === undefined ? {} : obj;
  const issues: PolicyIssue[] = [];
  const result = policySchema.safeParse(input);
  if (!result.success) {
    for (const i of result.error.issues) {
      if (i.code === 'unrecognized_keys') {
        for (const key of i.keys)
          issues.push({ path: [...toPath(i.path), key], message: unknownKeyMessage(i.path, key) });
      } else issues.push({ path: toPath(i.path), message: i.message });
    }
  }
  issues.push(...groupReferenceIssues(input), ...workspaceKindIssues(input));
  // Whether a quorum can be reached is only known once everything else is valid.
  if (result.success && issues.length === 0) issues.push(...satisfiabilityIssues(new Policy(result.data, origin)));
  if (!result.success || issues.length) throw new PolicyError(dedupe(issues), origin);
  return new Policy(result.data, origin);
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${formatPath(i.path)}\n${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `groups:` reference names a defined group (checked on the raw object, so it is reported with the rest). */
function groupReferenceIssues(input: unknown): PolicyIssue[] {
  if (!isRecord(input)) return [];
  const defined = new Set(isRecord(input.groups) ? Object.keys(input.groups) : []);
  const out: PolicyIssue[] = [];
  const checkRule = (rule: unknown, path: (string | number)[]) => {
    if (!isRecord(rule)) return;
    for (const side of ['requesters', 'approvers'] as const) {
      const p = rule[side];
      if (!isRecord(p) || !Array.isArray(p.groups)) continue;
      p.groups.forEach((g, i) => {
        if (typeof g === 'string' && !defined.has(g)) {
          const guess = closest(g, [...defined]);
          out.push({
            path: [...path, side, 'groups', i],
            message: `group "${g}" is not defined under groups${guess ? ` (did you mean ${guess}?)` : defined.size ? ` (defined: ${[...defined].join(', ')})` : ''}`,
          });
        }
      });
    }
  };
  checkRule(input.defaults, ['defaults']);
  if (isRecord(input.kinds)) for (const [k, r] of Object.entries(input.kinds)) checkRule(r, ['kinds', k]);
  if (isRecord(input.workspaces)) {
    for (const [ws, o] of Object.entries(input.workspaces)) {
      if (isRecord(o)) for (const [k, r] of Object.entries(o)) checkRule(r, ['workspaces', ws, k]);
    }
  }
  return out;
}

/** Per-workspace overrides of kinds that are never made in a workspace would silently do nothing. */
function workspaceKindIssues(input: unknown): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  if (!isRecord(input) || !isRecord(input.workspaces)) return out;
  for (const [ws, o] of Object.entries(input.workspaces)) {
    if (!isRecord(o)) continue;
    for (const k of Object.keys(o)) {
      if (k !== 'all' && isOneOf(REQUEST_KINDS, k) && !WORKSPACE_SCOPED_KINDS.includes(k)) {
        out.push({
          path: ['workspaces', ws, k],
          message: `${k} requests are not made in a workspace, so a per-workspace override never applies; move it to kinds.${k}`,
        });
      }
    }
  }
  return out;
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

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function isOneOf<T extends string>(all: readonly T[], v: string): v is T {
  return (all as readonly string[]).includes(v);
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function unknownName(what: string, value: string, known: readonly string[]): string {
  const guess = closest(value, known);
  return `unknown ${what} "${value}"${guess ? ` (did you mean ${guess}?)` : ''}; known ${what}s: ${known.join(', ')}`;
}
