/**
 * The policy file's shape (`quartermaster.yaml`): request kinds, durations, the zod schema with its plain-words
 * messages, and the checks that need only the file itself (unknown keys, group references, workspace kinds).
 * What the merged policy means is src/core/approvals/policy.ts, which re-exports all of this.
 */
import { z } from 'zod';
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
  'limit.set',
  'limit.reenable',
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
  'limit.set',
  'limit.reenable',
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

export const UNITS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
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

/** A price in USD per million tokens: a decimal string ("3.75") or a plain YAML number, up to 6 decimals. */
const usdPerMillion = z
  .union([z.string(), z.number()], { error: 'must be a price in USD per million tokens, e.g. "3.75"' })
  .transform((v) => String(v).trim())
  .refine((v) => /^\d+(\.\d{1,6})?$/.test(v), {
    error: (i) =>
      `${JSON.stringify(i.input)} is not a price in USD per million tokens (e.g. "3.75", at most 6 decimals)`,
  });

export const PRICE_KEYS = ['input', 'cache_write_5m', 'cache_write_1h', 'cache_read', 'output'] as const;

const priceSchema = z.strictObject(
  Object.fromEntries(PRICE_KEYS.map((k) => [k, usdPerMillion])) as Record<
    (typeof PRICE_KEYS)[number],
    typeof usdPerMillion
  >,
  { error: (i) => (i.code === 'invalid_type' ? `must be a map of ${PRICE_KEYS.join(', ')}` : undefined) },
);

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
    spend: z
      .strictObject(
        {
          prices: z
            .record(z.string().min(1), priceSchema, mapError('model id prefix → prices in USD per million tokens'))
            .optional(),
          timezone: z
            .string()
            .refine(isTimeZone, 'an IANA time zone such as Europe/Berlin or America/New_York')
            .optional(),
          anomalies: z
            .strictObject(
              {
                factor: z.number().min(1, 'a factor of at least 1').max(1000).optional(),
                min_hour_usd: z.number().min(0).max(1_000_000).optional(),
                min_day_usd: z.number().min(0).max(10_000_000).optional(),
                baseline_days: z.number().int().min(2).max(60).optional(),
              },
              mapError('factor, min_hour_usd, min_day_usd and baseline_days'),
            )
            .optional(),
          channels: z
            .strictObject(
              { slack: z.string().min(1).optional(), discord: z.string().min(1).optional() },
              mapError('slack and discord channel ids'),
            )
            .optional(),
        },
        mapError('prices, timezone, anomalies and channels'),
      )
      .optional(),
    leaks: z
      .strictObject(
        {
          channels: z
            .strictObject(
              { slack: z.string().min(1).optional(), discord: z.string().min(1).optional() },
              mapError('slack and discord channel ids'),
            )
            .optional(),
          auto_deactivate: z.boolean().optional(),
        },
        mapError('channels and auto_deactivate'),
      )
      .optional(),
  },
  mapError('version, groups, defaults, kinds, workspaces, spend and leaks'),
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

const TOP_LEVEL_KEYS = ['version', 'groups', 'defaults', 'kinds', 'workspaces', 'spend', 'leaks'];
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
const SPEND_KEYS = ['prices', 'timezone', 'anomalies', 'channels'];
const ANOMALY_KEYS = ['factor', 'min_hour_usd', 'min_day_usd', 'baseline_days'];

/** Whether Intl knows the zone (the same test the digest's --tz uses). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The keys allowed at a path, for "did you mean" on an unknown key. */
function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return TOP_LEVEL_KEYS;
  if (path.length === 1 && path[0] === 'spend') return SPEND_KEYS;
  if (path.length === 2 && path[0] === 'spend' && path[1] === 'anomalies') return ANOMALY_KEYS;
  if (path.length === 1 && path[0] === 'leaks') return ['channels', 'auto_deactivate'];
  if (path.length === 3 && path[0] === 'spend' && path[1] === 'prices') return PRICE_KEYS;
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

/**
 * Validates a parsed policy file against the schema and the file-only checks; the merged-policy checks
 * (satisfiability) are policy.ts's. Issues are in file order, not yet de-duplicated.
 */
export function checkPolicyFile(obj: unknown): { data: PolicyFile | null; issues: PolicyIssue[] } {
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
  return { data: result.success ? result.data : null, issues };
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

export function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
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

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function isOneOf<T extends string>(all: readonly T[], v: string): v is T {
  return (all as readonly string[]).includes(v);
}

export function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

export function unknownName(what: string, value: string, known: readonly string[]): string {
  const guess = closest(value, known);
  return `unknown ${what} "${value}"${guess ? ` (did you mean ${guess}?)` : ''}; known ${what}s: ${known.join(', ')}`;
}
