import type { SimulatorState } from './state.js';
import {
  DAY,
  formatCents,
  HOUR,
  type InternalRow,
  MINUTE,
  minuteSlice,
  SIM_PRICES,
  TOKEN_TYPES,
  tokenCostUnits,
  UNITS_PER_CENT,
  type UsageRow,
  WEB_SEARCH_CENTS_PER_REQUEST,
} from './usage.js';

/**
 * Usage and cost reports, both derived from the hourly ground truth in usage.ts: a bucket is the sum of the hourly
 * rows whose hour starts inside it (or, for 1m buckets, the exact integer minute split of its hour), and the cost
 * report prices those same rows. The same query always returns the same numbers until the clock or a revision
 * changes them.
 */
export class ReportError extends Error {}

const WIDTHS: Record<string, { ms: number; def: number; max: number }> = {
  '1m': { ms: MINUTE, def: 60, max: 1440 },
  '1h': { ms: HOUR, def: 24, max: 168 },
  '1d': { ms: DAY, def: 7, max: 31 },
};

const USAGE_DIMENSIONS = [
  'api_key_id',
  'workspace_id',
  'model',
  'service_tier',
  'context_window',
  'inference_geo',
  'speed',
  'account_id',
  'service_account_id',
] as const;
const COST_DIMENSIONS = ['workspace_id', 'description'] as const;

function param(q: URLSearchParams, name: string): string | null {
  return q.get(name);
}

export function arrayParam(q: URLSearchParams, name: string): string[] {
  return [...q.getAll(`${name}[]`), ...q.getAll(name)].flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function parseTime(value: string | null, name: string): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ReportError(`${name}: invalid RFC 3339 timestamp`);
  return ms;
}

export function encodePageToken(ms: number): string {
  return `page_${Buffer.from(new Date(ms).toISOString()).toString('base64')}`;
}

function decodePageToken(token: string): number {
  const ms = token.startsWith('page_')
    ? Date.parse(Buffer.from(token.slice(5), 'base64').toString('utf8'))
    : Number.NaN;
  if (Number.isNaN(ms)) throw new ReportError('page: invalid page token');
  return ms;
}

interface Window {
  buckets: Array<{ start: number; end: number }>;
  hasMore: boolean;
  nextPage: string | null;
  widthMs: number;
}

function bucketWindow(q: URLSearchParams, now: number, allowedWidths: string[], defaultWidth: string): Window {
  const widthName = param(q, 'bucket_width') ?? defaultWidth;
  const width = WIDTHS[widthName];
  if (!width || !allowedWidths.includes(widthName)) {
    throw new ReportError(`bucket_width: must be one of ${allowedWidths.join(', ')}`);
  }
  const starting = parseTime(param(q, 'starting_at'), 'starting_at');
  if (starting === null) throw new ReportError('starting_at: Field required');
  const limitRaw = param(q, 'limit');
  const limit = limitRaw === null ? width.def : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > width.max) {
    throw new ReportError(`limit: must be between 1 and ${width.max} for bucket_width ${widthName}`);
  }
  const snap = (ms: number) => ms - (((ms % width.ms) + width.ms) % width.ms);
  const ending = parseTime(param(q, 'ending_at'), 'ending_at') ?? snap(now) + width.ms;
  const page = param(q, 'page');
  let start = page ? decodePageToken(page) : snap(starting);
  start = snap(start);
  const buckets: Window['buckets'] = [];
  while (start < ending && buckets.length < limit) {
    buckets.push({ start, end: Math.min(start + width.ms, ending) });
    start += width.ms;
  }
  const hasMore = start < ending;
  return { buckets, hasMore, nextPage: hasMore ? encodePageToken(start) : null, widthMs: width.ms };
}

function groupBy(q: URLSearchParams, allowed: readonly string[]): Set<string> {
  const dims = arrayParam(q, 'group_by');
  for (const d of dims) {
    if (!allowed.includes(d)) throw new ReportError(`group_by: '${d}' is not one of ${allowed.join(', ')}`);
  }
  return new Set(dims);
}

/** The hourly (or minute-split) rows of one bucket, in row order. */
function bucketRows(
  state: SimulatorState,
  b: { start: number; end: number },
  widthMs: number,
  now: number,
  minuteCache: Map<number, { rows: InternalRow[]; weights: Map<InternalRow, Int32Array> }>,
): InternalRow[] {
  if (widthMs === MINUTE) {
    const hourIdx = Math.floor(b.start / HOUR);
    let hour = minuteCache.get(hourIdx);
    if (!hour) {
      hour = { rows: state.usage.hourRows(hourIdx, now), weights: new Map() };
      minuteCache.clear();
      minuteCache.set(hourIdx, hour);
    }
    const m = Math.floor((b.start - hourIdx * HOUR) / MINUTE);
    const out: InternalRow[] = [];
    for (const r of hour.rows) {
      const slice = minuteSlice(r, m, now, hour.weights);
      if (slice.uncachedInput || slice.cacheRead || slice.cacheWrite5m || slice.cacheWrite1h || slice.output) {
        out.push(slice);
      } else if (slice.webSearchRequests) out.push(slice);
    }
    return out;
  }
  return state.usage.rows(b.start, b.end, now);
}

function rowFilter(q: URLSearchParams): (r: UsageRow) => boolean {
  const keyIds = arrayParam(q, 'api_key_ids');
  const wsIds = arrayParam(q, 'workspace_ids');
  const models = arrayParam(q, 'models');
  const tiers = arrayParam(q, 'service_tiers');
  return (r) =>
    (keyIds.length === 0 || (r.apiKeyId !== null && keyIds.includes(r.apiKeyId))) &&
    (wsIds.length === 0 || (r.workspaceId !== null && wsIds.includes(r.workspaceId))) &&
    (models.length === 0 || models.includes(r.model)) &&
    (tiers.length === 0 || tiers.includes(r.serviceTier));
}

/** A usage result row, created with every field at once so all rows share one object shape (fast to serialise). */
function usageResult(
  s: UsageRow,
  dims: Set<string>,
): Record<string, number | string | null | Record<string, number>> & {
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  server_tool_use: { web_search_requests: number };
} {
  return {
    uncached_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: 0,
    server_tool_use: { web_search_requests: 0 },
    api_key_id: dims.has('api_key_id') ? s.apiKeyId : null,
    workspace_id: dims.has('workspace_id') ? s.workspaceId : null,
    model: dims.has('model') ? s.model : null,
    service_tier: dims.has('service_tier') ? s.serviceTier : null,
    context_window: dims.has('context_window') ? '0-200k' : null,
    inference_geo: dims.has('inference_geo') ? 'global' : null,
    speed: dims.has('speed') ? 'standard' : null,
    account_id: null,
    service_account_id: null,
  };
}

export function usageReport(state: SimulatorState, q: URLSearchParams) {
  const now = state.now().getTime();
  const w = bucketWindow(q, now, ['1m', '1h', '1d'], '1d');
  const dims = groupBy(q, USAGE_DIMENSIONS);
  const keep = rowFilter(q);
  const byKey = dims.has('api_key_id');
  const byWs = dims.has('workspace_id');
  const byModel = dims.has('model');
  const byTier = dims.has('service_tier');
  const minuteCache = new Map();
  // Result row of a row's origin (traffic source), resolved once per origin rather than once per row: with 10,000
  // keys a week of hours is ~75,000 rows but ~1,500 origins. The other dimensions have one value each, so only these
  // four split rows.
  const groupIds = new Map<string, number>();
  const groupOf = new Map<object, number>();
  const group = (s: InternalRow) => {
    let g = groupOf.get(s.origin);
    if (g === undefined) {
      const k = `${byKey ? s.apiKeyId : ''}|${byWs ? s.workspaceId : ''}|${byModel ? s.model : ''}|${byTier ? s.serviceTier : ''}`;
      g = groupIds.get(k);
      if (g === undefined) {
        g = groupIds.size;
        groupIds.set(k, g);
      }
      groupOf.set(s.origin, g);
    }
    return g;
  };
  const data = w.buckets.map((b) => {
    const rows = new Map<number, ReturnType<typeof usageResult>>();
    for (const s of bucketRows(state, b, w.widthMs, now, minuteCache)) {
      if (!keep(s)) continue;
      const g = group(s);
      let row = rows.get(g);
      if (!row) {
        row = usageResult(s, dims);
        rows.set(g, row);
      }
      (row.uncached_input_tokens as number) += s.uncachedInput;
      (row.cache_read_input_tokens as number) += s.cacheRead;
      row.cache_creation.ephemeral_5m_input_tokens += s.cacheWrite5m;
      row.cache_creation.ephemeral_1h_input_tokens += s.cacheWrite1h;
      (row.output_tokens as number) += s.output;
      row.server_tool_use.web_search_requests += s.webSearchRequests;
    }
    return {
      starting_at: new Date(b.start).toISOString(),
      ending_at: new Date(b.end).toISOString(),
      results: [...rows.values()],
    };
  });
  return { data, has_more: w.hasMore, next_page: w.nextPage };
}

/**
 * Cost report: per 1d bucket, Σ over the bucket's hourly rows of tokens × SIM_PRICES (×0.5 batch) plus web search,
 * in exact 1e-7 cent units rendered as decimal cent strings. Tokens are summed per (workspace, model, tier) first
 * and priced once: exact, because every row's cost is an integer number of units (linear, no rounding).
 */
export function costReport(state: SimulatorState, q: URLSearchParams) {
  const now = state.now().getTime();
  const w = bucketWindow(q, now, ['1d'], '1d');
  const dims = groupBy(q, COST_DIMENSIONS);
  const byWs = dims.has('workspace_id');
  const byDescription = dims.has('description');
  const data = w.buckets.map((b) => {
    // Token sums per (workspace, model, tier); JS numbers are exact far beyond a day's tokens.
    const sums = new Map<string, UsageRow>();
    for (const s of state.usage.rows(b.start, b.end, now)) {
      const k = `${s.workspaceId}|${s.model}|${s.serviceTier}`;
      const acc = sums.get(k);
      if (!acc) {
        sums.set(k, { ...s });
        continue;
      }
      acc.uncachedInput += s.uncachedInput;
      acc.cacheRead += s.cacheRead;
      acc.cacheWrite5m += s.cacheWrite5m;
      acc.cacheWrite1h += s.cacheWrite1h;
      acc.output += s.output;
      acc.webSearchRequests += s.webSearchRequests;
    }
    const rows = new Map<string, { units: bigint; row: Record<string, string | null> }>();
    const add = (s: UsageRow, units: bigint, detail: Record<string, string | null>) => {
      if (units === 0n) return;
      const row: Record<string, string | null> = {
        currency: 'USD',
        workspace_id: byWs ? s.workspaceId : null,
        description: null,
        cost_type: null,
        context_window: null,
        model: null,
        service_tier: null,
        token_type: null,
        inference_geo: null,
      };
      if (byDescription) Object.assign(row, detail);
      const k = JSON.stringify(row);
      const entry = rows.get(k) ?? { units: 0n, row };
      entry.units += units;
      rows.set(k, entry);
    };
    for (const s of sums.values()) {
      const price = SIM_PRICES[s.model];
      if (price) {
        for (const t of TOKEN_TYPES) {
          add(s, tokenCostUnits(s[t.field], price[t.price], s.serviceTier), {
            description: `${price.display} Usage - ${t.label}`,
            cost_type: 'tokens',
            context_window: '0-200k',
            model: s.model,
            service_tier: s.serviceTier,
            token_type: t.type,
            inference_geo: 'global',
          });
        }
      }
      if (s.webSearchRequests > 0) {
        add(s, BigInt(s.webSearchRequests) * BigInt(WEB_SEARCH_CENTS_PER_REQUEST) * UNITS_PER_CENT, {
          description: 'Web Search',
          cost_type: 'web_search',
          context_window: null,
          model: null,
          service_tier: null,
          token_type: null,
          inference_geo: null,
        });
      }
    }
    const results = [...rows.values()].map(({ units, row }) => ({ amount: formatCents(units), ...row }));
    return { starting_at: new Date(b.start).toISOString(), ending_at: new Date(b.end).toISOString(), results };
  });
  return { data, has_more: w.hasMore, next_page: w.nextPage };
}
