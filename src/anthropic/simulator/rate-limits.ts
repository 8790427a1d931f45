/**
 * The read-only rate-limit endpoints (admin-api.md §3.10):
 *
 * - `GET /v1/organizations/rate_limits`: the organization's entries, one per rate-limit group (a model family, or an
 *   API surface such as the Message Batches API or the web search tool). Query `group_type` filters by group type
 *   (an unknown value is a 400), `model` keeps only the model group containing that model ID or alias (404 when
 *   none does), `limit` (1–1000) and `page` page the result: without `limit` everything comes in one page and
 *   `next_page` is null.
 * - `GET /v1/organizations/workspaces/{id}/rate_limits`: the workspace's overrides only, each limit
 *   `{type, value, org_limit, source}`; the Default workspace has none; an unknown workspace is a 404.
 *   `include_inherited=true` lists every group with the values inherited from the organization too (newest SDK).
 *
 * Entries carry both shapes the API has used: `group_type` (docs) and `group{id, type, display_name}` (newest SDK),
 * with `id` on organization entries and `rate_limit_id` / `workspace_id` on workspace ones. Setting limits is
 * Console-only for the bot (there is no write route here).
 */
import { createHash } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Deterministic id shaped like the API's (`rlg_01` + 22 characters); the same scheme as state.ts simId. */
function simId(prefix: string, key: string): string {
  const digest = createHash('sha256').update(`${prefix}:${key}`).digest();
  let out = '';
  for (let i = 0; i < 22; i++) out += BASE62[digest[i]! % BASE62.length];
  return `${prefix}_01${out}`;
}

export const GROUP_TYPES = ['model_group', 'batch', 'token_count', 'files', 'skills', 'web_search'] as const;

export interface SimRateLimitValue {
  type: string;
  value: number;
}

/** One organization entry. */
export interface SimRateLimit {
  /** Entry id, stable within the organization (what a workspace override's `rate_limit_id` points to). */
  id: string;
  /** The group's id (`rlg_…`), the same in every organization. */
  groupId: string;
  groupType: string;
  /** Model groups only. */
  displayName: string | null;
  /** Model IDs and aliases (model groups only; null otherwise). */
  models: string[] | null;
  limits: SimRateLimitValue[];
}

/** A workspace's overrides of one organization entry. */
export interface SimWorkspaceRateLimit {
  workspaceId: string;
  rateLimitId: string;
  limits: SimRateLimitValue[];
}

/** What the route handler needs: the state's entries and a way to look a workspace up (404 when unknown). */
export interface RateLimitSource {
  rateLimits: SimRateLimit[];
  workspaceRateLimits: SimWorkspaceRateLimit[];
}

/** A refusal with its HTTP status (the server wraps it in the API's error envelope). */
export class RateLimitRouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const entry = (
  key: string,
  groupType: string,
  limits: Record<string, number>,
  model?: { displayName: string; models: string[] },
): SimRateLimit => ({
  id: simId('rl', key),
  groupId: simId('rlg', key),
  groupType,
  displayName: model?.displayName ?? null,
  models: model?.models ?? null,
  limits: Object.entries(limits).map(([type, value]) => ({ type, value })),
});

/**
 * The organization's limits, in the order the Console lists them: a build-tier-4-like organization with one
 * entry per model family (the models the simulator serves, with their aliases and dated IDs) and the API
 * surfaces.
 */
export function defaultRateLimits(): SimRateLimit[] {
  return [
    entry(
      'claude-opus-4',
      'model_group',
      {
        requests_per_minute: 4_000,
        input_tokens_per_minute_cache_aware: 2_000_000,
        output_tokens_per_minute: 400_000,
      },
      { displayName: 'Claude Opus 4.x', models: ['claude-opus-4-6', 'claude-opus-4-5', 'claude-opus-4-5-20251101'] },
    ),
    entry(
      'claude-sonnet-4',
      'model_group',
      {
        requests_per_minute: 4_000,
        input_tokens_per_minute_cache_aware: 2_000_000,
        output_tokens_per_minute: 400_000,
      },
      {
        displayName: 'Claude Sonnet 4.x',
        models: ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-0', 'claude-sonnet-4-20250514'],
      },
    ),
    entry(
      'claude-sonnet-5',
      'model_group',
      {
        requests_per_minute: 4_000,
        input_tokens_per_minute_cache_aware: 4_000_000,
        output_tokens_per_minute: 800_000,
      },
      { displayName: 'Claude Sonnet 5', models: ['claude-sonnet-5'] },
    ),
    entry(
      'claude-haiku-4',
      'model_group',
      {
        requests_per_minute: 4_000,
        input_tokens_per_minute_cache_aware: 4_000_000,
        output_tokens_per_minute: 800_000,
      },
      { displayName: 'Claude Haiku 4.x', models: ['claude-haiku-4-5', 'claude-haiku-4-5-20251001'] },
    ),
    entry('batch', 'batch', { requests_per_minute: 4_000, enqueued_batch_requests: 500_000 }),
    entry('token_count', 'token_count', { requests_per_minute: 8_000 }),
    entry('files', 'files', { requests_per_minute: 500 }),
    entry('skills', 'skills', { requests_per_minute: 100 }),
    entry('web_search', 'web_search', { tool_uses_per_second: 30 }),
  ];
}

/** Overrides of the named org entries for one workspace (for seeding): `{ 'claude-sonnet-4': { rpm: … } }`. */
export function overrides(
  workspaceId: string,
  orgEntries: readonly SimRateLimit[],
  byKey: Record<string, Record<string, number>>,
): SimWorkspaceRateLimit[] {
  return Object.entries(byKey).map(([key, limits]) => {
    const id = simId('rl', key);
    if (!orgEntries.some((e) => e.id === id)) throw new Error(`no organization rate limit ${key}`);
    return {
      workspaceId,
      rateLimitId: id,
      limits: Object.entries(limits).map(([type, value]) => ({ type, value })),
    };
  });
}

// ---- HTTP

function groupJson(e: SimRateLimit) {
  return {
    id: e.groupId,
    type: e.groupType,
    ...(e.groupType === 'model_group' ? { display_name: e.displayName ?? e.groupType } : {}),
  };
}

export function rateLimitJson(e: SimRateLimit) {
  return {
    type: 'rate_limit',
    id: e.id,
    group_type: e.groupType,
    group: groupJson(e),
    models: e.models,
    limits: e.limits.map((l) => ({ type: l.type, value: l.value })),
  };
}

function groupTypeFilter(q: URLSearchParams): string | null {
  const groupType = q.get('group_type');
  if (groupType === null || groupType === '') return null;
  if (!(GROUP_TYPES as readonly string[]).includes(groupType)) {
    throw new RateLimitRouteError(400, `group_type: Input should be ${GROUP_TYPES.map((g) => `'${g}'`).join(', ')}`);
  }
  return groupType;
}

const PAGE_PREFIX = 'page_';

function encodePage(offset: number): string {
  return PAGE_PREFIX + Buffer.from(`rate_limits:${offset}`).toString('base64url');
}

function decodePage(token: string): number {
  const text = token.startsWith(PAGE_PREFIX)
    ? Buffer.from(token.slice(PAGE_PREFIX.length), 'base64url').toString('utf8')
    : '';
  const m = /^rate_limits:(\d{1,9})$/.exec(text);
  if (!m) throw new RateLimitRouteError(400, 'page: invalid page token');
  return Number(m[1]);
}

/** `{data, next_page}`: everything from `page` on when there is no `limit`, else `limit` entries. */
function page<T>(items: T[], q: URLSearchParams) {
  const token = q.get('page');
  const offset = token ? decodePage(token) : 0;
  const limit = q.has('limit') ? Number(q.get('limit')) : null;
  const rest = items.slice(offset);
  if (limit === null || rest.length <= limit) return { data: rest, next_page: null };
  return { data: rest.slice(0, limit), next_page: encodePage(offset + limit) };
}

export function listOrgRateLimits(s: RateLimitSource, q: URLSearchParams) {
  const groupType = groupTypeFilter(q);
  let entries = s.rateLimits.filter((e) => groupType === null || e.groupType === groupType);
  const model = q.get('model');
  if (model !== null && model !== '') {
    const hit = entries.find((e) => e.models?.includes(model));
    if (!hit) {
      throw new RateLimitRouteError(
        404,
        `Model \`${model}\` was not found or has no rate limits for this organization.`,
      );
    }
    entries = [hit];
  }
  return page(entries.map(rateLimitJson), q);
}

/** `workspace` has been looked up by the caller (an unknown one is a 404 there). */
export function listWorkspaceRateLimits(
  s: RateLimitSource,
  workspace: { id: string; is_default: boolean },
  q: URLSearchParams,
) {
  const groupType = groupTypeFilter(q);
  const inherited = q.get('include_inherited') === 'true';
  const own = workspace.is_default ? [] : s.workspaceRateLimits.filter((o) => o.workspaceId === workspace.id);
  const data: unknown[] = [];
  for (const e of s.rateLimits) {
    if (groupType !== null && e.groupType !== groupType) continue;
    const set = own.find((o) => o.rateLimitId === e.id)?.limits ?? [];
    const orgValue = (type: string) => e.limits.find((l) => l.type === type)?.value ?? null;
    const limits = set.map((l) => ({
      type: l.type,
      value: l.value,
      org_limit: orgValue(l.type),
      source: { type: 'workspace' },
    }));
    if (inherited) {
      for (const l of e.limits) {
        if (set.some((x) => x.type === l.type)) continue;
        limits.push({ type: l.type, value: l.value, org_limit: l.value, source: { type: 'organization' } });
      }
    }
    if (limits.length === 0) continue;
    data.push({
      type: 'workspace_rate_limit',
      workspace_id: workspace.id,
      rate_limit_id: e.id,
      group_type: e.groupType,
      group: groupJson(e),
      models: e.models,
      limits,
    });
  }
  return page(data, q);
}
