/**
 * The usage, cost and Claude Code reports of the Admin API (admin-api.md §3.7–3.9), and the read-only rate limits
 * (§3.10), over the same SDK transport as
 * the directory client: one HTTP request per page, retried by the SDK on 408/409/429/5xx (honouring retry-after),
 * failures classified as AdminApiError, every attempt reported to onRequest. The pinned SDK has no methods for
 * the report paths (its beta analytics endpoints are other URLs), so they go through its generic `get`, whose query
 * encoding writes arrays as `group_by[]=a&group_by[]=b`, the form the API documents. The rate limits go through the
 * SDK's own `beta.organization.rateLimits` and `beta.organization.workspaces.rateLimits` list methods.
 *
 * A report page of a large organization is many MB, and one JSON.parse of it would hold the event loop for 60–260 ms.
 * So the report requests take the SDK's raw Response (`.asResponse()`: the request, its retries and the turning of a
 * non-2xx answer into an APIError are the SDK's, exactly as for a parsed call), read the body's bytes as they
 * arrive, and parse them in bounded slices with turns of the event loop in between (./json-chunks.ts); the value is
 * the one JSON.parse would give. A body that is not JSON fails the call, as before.
 *
 * Unknown fields are ignored and missing or null ones read as null (dimensions) or zero (counts); amounts are
 * converted to nano-dollars from their decimal text, never through float arithmetic.
 */
import type {
  ClaudeCodeQuery,
  ClaudeCodeRecord,
  CostReportQuery,
  CostResult,
  RateLimitGroup,
  RateLimitValue,
  ReportBucket,
  ReportPage,
  ReportsApi,
  UsageReportQuery,
  UsageResult,
} from '../core/ports/spend.js';
import { centsToNanos, type Nanos } from '../core/spend/money.js';
import { nextTurn } from '../core/turn.js';
import { type AdminApiClientOptions, createAdminTransport } from './client.js';
import { parseJsonInChunks, readBodyBytes } from './json-chunks.js';

type Json = Record<string, unknown>;
type Query = Record<string, string | number | string[]>;

export const USAGE_REPORT_PATH = '/v1/organizations/usage_report/messages';
export const COST_REPORT_PATH = '/v1/organizations/cost_report';
export const CLAUDE_CODE_REPORT_PATH = '/v1/organizations/usage_report/claude_code';

/** A page of 168 hourly buckets for a large organization is big; give it more than the directory's 30 s. */
const DEFAULT_REPORT_TIMEOUT_MS = 120_000;

export function createReportsApiClient(opts: AdminApiClientOptions): ReportsApi {
  const { call } = createAdminTransport({ ...opts, timeoutMs: opts.timeoutMs ?? DEFAULT_REPORT_TIMEOUT_MS });

  // Inside `call`, so a failure while the body is read or parsed is classified like any other.
  const get = (path: string, query: Query) =>
    call(async (c) => {
      const res = await c.get<unknown>(path, { query }).asResponse();
      const body = obj(await parseJsonInChunks(await readBodyBytes(res)));
      if (!body) throw new TypeError('A report page that is not a JSON object.');
      return body;
    });
  // Without `limit` the API answers with every entry in one page (admin-api.md §2 C); pages are followed anyway.
  const rateLimitQuery = opts.pageSize ? { limit: opts.pageSize } : {};

  return {
    rateLimits: () => call((c) => allGroups(c.beta.organization.rateLimits.list(rateLimitQuery), false)),
    workspaceRateLimits: (workspaceId: string) =>
      call((c) => allGroups(c.beta.organization.workspaces.rateLimits.list(workspaceId, rateLimitQuery), true)),

    async usageReportPage(q: UsageReportQuery) {
      const body = await get(USAGE_REPORT_PATH, {
        starting_at: q.startingAt.toISOString(),
        ...(q.endingAt ? { ending_at: q.endingAt.toISOString() } : {}),
        bucket_width: q.bucketWidth,
        limit: q.limit,
        ...(q.groupBy.length ? { group_by: [...q.groupBy] } : {}),
        ...(q.page ? { page: q.page } : {}),
      });
      return bucketPage(body, mapUsage);
    },

    async costReportPage(q: CostReportQuery) {
      const body = await get(COST_REPORT_PATH, {
        starting_at: q.startingAt.toISOString(),
        ...(q.endingAt ? { ending_at: q.endingAt.toISOString() } : {}),
        bucket_width: '1d',
        limit: q.limit,
        ...(q.groupBy.length ? { group_by: [...q.groupBy] } : {}),
        ...(q.page ? { page: q.page } : {}),
      });
      return bucketPage(body, mapCost);
    },

    async claudeCodePage(q: ClaudeCodeQuery) {
      const day = utcDay(q.day);
      const body = await get(CLAUDE_CODE_REPORT_PATH, {
        starting_at: day,
        limit: q.limit,
        ...(q.page ? { page: q.page } : {}),
      });
      const data = Array.isArray(body.data) ? body.data : [];
      return {
        data: data.flatMap((r) => {
          const o = obj(r);
          return o ? [mapClaudeCode(o, q.day)] : [];
        }),
        nextPage: nextPageOf(body),
      };
    },
  };
}

/** `YYYY-MM-DD` of a UTC day (the Claude Code report's `starting_at`). */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The SDK's cursor pages of rate-limit entries, every page, mapped; a page token seen twice ends the listing. */
interface RateLimitPage {
  data: unknown[];
  next_page: string | null;
  hasNextPage(): boolean;
  getNextPage(): Promise<RateLimitPage>;
}

async function allGroups(first: PromiseLike<RateLimitPage>, overridesOnly: boolean): Promise<RateLimitGroup[]> {
  const out: RateLimitGroup[] = [];
  const seen = new Set<string>();
  let page = await first;
  for (;;) {
    for (const raw of page.data ?? []) {
      const o = obj(raw);
      const group = o ? mapRateLimitGroup(o, overridesOnly) : null;
      if (group) out.push(group);
    }
    const next = page.next_page;
    if (!next || seen.has(next) || !page.hasNextPage()) return out;
    seen.add(next);
    page = await page.getNextPage();
  }
}

/** A limit value: a finite JSON number (or integer text); anything else is not a limit. */
function limitNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

/**
 * One rate-limit entry, of either shape the API has used: `group_type` (docs) or `group{type, display_name}` (newer
 * responses). On a workspace entry only the workspace's own overrides count: values whose `source` says they are
 * inherited from the organization (`include_inherited`) are left out. An entry without any limit left is dropped.
 */
export function mapRateLimitGroup(r: Json, overridesOnly = false): RateLimitGroup | null {
  const group = obj(r.group);
  const limits: RateLimitValue[] = [];
  for (const raw of Array.isArray(r.limits) ? r.limits : []) {
    const l = obj(raw);
    const type = str(l?.type);
    const value = limitNumber(l?.value);
    if (!l || !type || value === null) continue;
    if (overridesOnly && str(obj(l.source)?.type) === 'organization') continue;
    limits.push({ type, value, orgLimit: limitNumber(l.org_limit) });
  }
  if (limits.length === 0) return null;
  return {
    groupType: str(r.group_type) ?? str(group?.type) ?? 'unknown',
    displayName: str(group?.display_name) ?? str(r.display_name),
    models: Array.isArray(r.models) ? r.models.filter((m): m is string => typeof m === 'string') : [],
    limits,
  };
}

// ---- mapping

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

/** A token count: a non-negative JSON integer (or integer text); anything else reads as 0. */
function count(v: unknown): bigint {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return BigInt(v.trim());
  return 0n;
}
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);

function date(v: unknown, what: string): Date {
  const d = typeof v === 'string' ? new Date(v) : null;
  if (!d || Number.isNaN(d.getTime())) throw new Error(`report bucket without a valid ${what}`);
  return d;
}

function nextPageOf(body: Json): string | null {
  const next = str(body.next_page);
  // has_more is authoritative when present; a token without more pages would loop on some proxies.
  if (body.has_more === false) return null;
  return next && next !== '' ? next : null;
}

/** Results mapped between two turns of the event loop (a page of a large organization holds tens of thousands). */
const MAP_CHUNK = 1000;

async function bucketPage<T>(body: Json, map: (r: Json) => T): Promise<ReportPage<ReportBucket<T>>> {
  const data = Array.isArray(body.data) ? body.data : [];
  const buckets: ReportBucket<T>[] = [];
  let mapped = 0;
  for (const raw of data) {
    const b = obj(raw);
    if (!b) continue;
    const results = Array.isArray(b.results) ? b.results : [];
    const out: T[] = [];
    for (const r of results) {
      if (++mapped % MAP_CHUNK === 0) await nextTurn();
      const o = obj(r);
      if (o) out.push(map(o));
    }
    buckets.push({
      startingAt: date(b.starting_at, 'starting_at'),
      endingAt: date(b.ending_at, 'ending_at'),
      results: out,
    });
  }
  return { data: buckets, nextPage: nextPageOf(body) };
}

function mapUsage(r: Json): UsageResult {
  const cache = obj(r.cache_creation);
  const tools = obj(r.server_tool_use);
  return {
    workspaceId: str(r.workspace_id),
    apiKeyId: str(r.api_key_id),
    model: str(r.model),
    serviceTier: str(r.service_tier),
    uncachedInput: count(r.uncached_input_tokens),
    cacheRead: count(r.cache_read_input_tokens),
    cacheWrite5m: count(cache?.ephemeral_5m_input_tokens),
    cacheWrite1h: count(cache?.ephemeral_1h_input_tokens),
    output: count(r.output_tokens),
    webSearch: count(tools?.web_search_requests),
  };
}

function mapCost(r: Json): CostResult {
  const amount = r.amount;
  if (typeof amount !== 'string' && typeof amount !== 'number') throw new Error('cost report row without an amount');
  return {
    nanos: centsToNanos(amount),
    workspaceId: str(r.workspace_id),
    description: str(r.description),
    costType: str(r.cost_type),
    model: str(r.model),
    tokenType: str(r.token_type),
    serviceTier: str(r.service_tier),
  };
}

const ACTOR_TYPES: Record<string, ClaudeCodeRecord['actorType']> = { user_actor: 'user', api_actor: 'api_key' };

function mapClaudeCode(r: Json, day: Date): ClaudeCodeRecord {
  const actor = obj(r.actor);
  const actorType = ACTOR_TYPES[str(actor?.type) ?? ''] ?? 'unknown';
  const core = obj(r.core_metrics);
  const lines = obj(core?.lines_of_code);
  let toolAccepted = 0;
  let toolRejected = 0;
  for (const v of Object.values(obj(r.tool_actions) ?? {})) {
    const t = obj(v);
    toolAccepted += int(t?.accepted);
    toolRejected += int(t?.rejected);
  }
  let inputTokens = 0n;
  let outputTokens = 0n;
  let cacheRead = 0n;
  let cacheCreation = 0n;
  let costNanos: Nanos = 0n;
  for (const m of Array.isArray(r.model_breakdown) ? r.model_breakdown : []) {
    const mo = obj(m);
    const tokens = obj(mo?.tokens);
    inputTokens += count(tokens?.input);
    outputTokens += count(tokens?.output);
    cacheRead += count(tokens?.cache_read);
    cacheCreation += count(tokens?.cache_creation);
    const amount = obj(mo?.estimated_cost)?.amount;
    if (typeof amount === 'number' || typeof amount === 'string') costNanos += centsToNanos(amount);
  }
  const reported = str(r.date);
  const parsed = reported ? new Date(reported.length === 10 ? `${reported}T00:00:00Z` : reported) : null;
  const at = parsed && !Number.isNaN(parsed.getTime()) ? parsed : day;
  return {
    day: new Date(`${utcDay(at)}T00:00:00.000Z`),
    actorType,
    actor: (actorType === 'api_key' ? str(actor?.api_key_name) : str(actor?.email_address)) ?? '',
    terminalType: str(r.terminal_type) ?? '',
    customerType: str(r.customer_type) ?? '',
    sessions: int(core?.num_sessions),
    linesAdded: int(lines?.added),
    linesRemoved: int(lines?.removed),
    commits: int(core?.commits_by_claude_code),
    pullRequests: int(core?.pull_requests_by_claude_code),
    toolAccepted,
    toolRejected,
    inputTokens,
    outputTokens,
    cacheRead,
    cacheCreation,
    costNanos,
  };
}
