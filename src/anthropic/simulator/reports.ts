import { type SimApiKey, type SimulatorState, unitRandom } from './state.js';

/**
 * Usage and cost reports computed on the fly from the seeded keys: every third key "has traffic" on one model, and
 * its volume per bucket is a hash of (key, bucket start), so the same query always returns the same numbers.
 */
export class ReportError extends Error {}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WIDTHS: Record<string, { ms: number; def: number; max: number }> = {
  '1m': { ms: MINUTE, def: 60, max: 1440 },
  '1h': { ms: HOUR, def: 24, max: 168 },
  '1d': { ms: DAY, def: 7, max: 31 },
};

/** Cents per million tokens (USD price × 100), from the pricing table in admin-api.md. */
const MODELS: Record<string, { display: string; in: number; w5m: number; w1h: number; read: number; out: number }> = {
  'claude-sonnet-4-5-20250929': { display: 'Claude Sonnet 4.5', in: 300, w5m: 375, w1h: 600, read: 30, out: 1500 },
  'claude-opus-4-6': { display: 'Claude Opus 4.6', in: 500, w5m: 625, w1h: 1000, read: 50, out: 2500 },
  'claude-haiku-4-5': { display: 'Claude Haiku 4.5', in: 100, w5m: 125, w1h: 200, read: 10, out: 500 },
  'claude-sonnet-5': { display: 'Claude Sonnet 5', in: 200, w5m: 250, w1h: 400, read: 20, out: 1000 },
};
const MODEL_IDS = Object.keys(MODELS);

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

interface Source {
  key: SimApiKey;
  workspaceId: string | null;
  model: string;
  tier: 'standard' | 'batch';
}

interface UsageSample {
  source: Source;
  uncached: number;
  cacheRead: number;
  cache5m: number;
  cache1h: number;
  output: number;
  webSearch: number;
}

function sources(state: SimulatorState): Source[] {
  const defaultId = state.defaultWorkspace?.id;
  return state.apiKeys
    .filter((_, i) => i % 3 === 0)
    .map((key) => ({
      key,
      workspaceId: key.scope_workspace_id === defaultId ? null : key.scope_workspace_id,
      model: MODEL_IDS[Math.floor(unitRandom(`model:${key.id}`) * MODEL_IDS.length)]!,
      tier: key.name.includes('batch') || key.name.includes('evals') ? 'batch' : 'standard',
    }));
}

function sample(source: Source, start: number, widthMs: number): UsageSample | null {
  const r = unitRandom(`usage:${source.key.id}:${start}:${widthMs}`);
  const daily = 200_000 + Math.floor(unitRandom(`volume:${source.key.id}`) * 1_800_000);
  const uncached = Math.round((daily * widthMs * (0.5 + r)) / DAY);
  if (uncached === 0) return null;
  return {
    source,
    uncached,
    cacheRead: Math.round(uncached * 0.6),
    cache5m: Math.round(uncached * 0.1),
    cache1h: Math.round(uncached * 0.02),
    output: Math.round(uncached * (0.15 + r * 0.1)),
    webSearch: widthMs >= HOUR ? Math.floor(r * 12) : 0,
  };
}

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

function samplesFor(state: SimulatorState, q: URLSearchParams, start: number, widthMs: number, now: number) {
  if (start >= now) return [];
  const keyIds = arrayParam(q, 'api_key_ids');
  const wsIds = arrayParam(q, 'workspace_ids');
  const models = arrayParam(q, 'models');
  const tiers = arrayParam(q, 'service_tiers');
  return sources(state)
    .filter((s) => Date.parse(s.key.created_at) < start + widthMs)
    .filter((s) => keyIds.length === 0 || keyIds.includes(s.key.id))
    .filter((s) => wsIds.length === 0 || (s.workspaceId !== null && wsIds.includes(s.workspaceId)))
    .filter((s) => models.length === 0 || models.includes(s.model))
    .filter((s) => tiers.length === 0 || tiers.includes(s.tier))
    .map((s) => sample(s, start, widthMs))
    .filter((s): s is UsageSample => s !== null);
}

export function usageReport(state: SimulatorState, q: URLSearchParams) {
  const now = state.now().getTime();
  const w = bucketWindow(q, now, ['1m', '1h', '1d'], '1d');
  const dims = groupBy(q, USAGE_DIMENSIONS);
  const data = w.buckets.map((b) => {
    const rows = new Map<string, Record<string, any>>();
    for (const s of samplesFor(state, q, b.start, w.widthMs, now)) {
      const dimValues: Record<string, string | null> = {
        api_key_id: s.source.key.id,
        workspace_id: s.source.workspaceId,
        model: s.source.model,
        service_tier: s.source.tier,
        context_window: '0-200k',
        inference_geo: 'global',
        speed: 'standard',
        account_id: null,
        service_account_id: null,
      };
      const picked = Object.fromEntries(USAGE_DIMENSIONS.map((d) => [d, dims.has(d) ? dimValues[d]! : null]));
      const k = JSON.stringify(picked);
      let row = rows.get(k);
      if (!row) {
        row = {
          uncached_input_tokens: 0,
          cache_read_input_tokens: 0,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          output_tokens: 0,
          server_tool_use: { web_search_requests: 0 },
          ...picked,
        };
        rows.set(k, row);
      }
      row.uncached_input_tokens += s.uncached;
      row.cache_read_input_tokens += s.cacheRead;
      row.cache_creation.ephemeral_5m_input_tokens += s.cache5m;
      row.cache_creation.ephemeral_1h_input_tokens += s.cache1h;
      row.output_tokens += s.output;
      row.server_tool_use.web_search_requests += s.webSearch;
    }
    return {
      starting_at: new Date(b.start).toISOString(),
      ending_at: new Date(b.end).toISOString(),
      results: [...rows.values()],
    };
  });
  return { data, has_more: w.hasMore, next_page: w.nextPage };
}

/** Amounts are accumulated in 1e-7 cent units so the decimal strings are exact. */
const SCALE = 10_000_000n;

function formatCents(units: bigint): string {
  const whole = units / SCALE;
  const frac = (units % SCALE).toString().padStart(7, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

const TOKEN_TYPES = [
  { type: 'uncached_input_tokens', label: 'Input Tokens', price: 'in', field: 'uncached' },
  { type: 'output_tokens', label: 'Output Tokens', price: 'out', field: 'output' },
  { type: 'cache_read_input_tokens', label: 'Cache Read Input Tokens', price: 'read', field: 'cacheRead' },
  {
    type: 'cache_creation.ephemeral_5m_input_tokens',
    label: 'Cache Write (5m) Input Tokens',
    price: 'w5m',
    field: 'cache5m',
  },
  {
    type: 'cache_creation.ephemeral_1h_input_tokens',
    label: 'Cache Write (1h) Input Tokens',
    price: 'w1h',
    field: 'cache1h',
  },
] as const;

export function costReport(state: SimulatorState, q: URLSearchParams) {
  const now = state.now().getTime();
  const w = bucketWindow(q, now, ['1d'], '1d');
  const dims = groupBy(q, COST_DIMENSIONS);
  const data = w.buckets.map((b) => {
    const rows = new Map<string, { units: bigint; row: Record<string, any> }>();
    const add = (s: UsageSample, units: bigint, detail: Record<string, string | null>) => {
      const row: Record<string, any> = {
        currency: 'USD',
        workspace_id: dims.has('workspace_id') ? s.source.workspaceId : null,
        description: null,
        cost_type: null,
        context_window: null,
        model: null,
        service_tier: null,
        token_type: null,
        inference_geo: null,
      };
      if (dims.has('description')) Object.assign(row, detail);
      const k = JSON.stringify(row);
      const entry = rows.get(k) ?? { units: 0n, row };
      entry.units += units;
      rows.set(k, entry);
    };
    for (const s of samplesFor(state, q, b.start, w.widthMs, now)) {
      const price = MODELS[s.source.model]!;
      const divisor = s.source.tier === 'batch' ? 2n : 1n;
      for (const t of TOKEN_TYPES) {
        const tokens = BigInt(s[t.field]);
        // tokens × cents-per-million / 1e6, expressed in 1e-7 cent units.
        const units = (tokens * BigInt(price[t.price]) * 10n) / divisor;
        add(s, units, {
          description: `${price.display} Usage - ${t.label}`,
          cost_type: 'tokens',
          context_window: '0-200k',
          model: s.source.model,
          service_tier: s.source.tier,
          token_type: t.type,
          inference_geo: 'global',
        });
      }
      if (s.webSearch > 0) {
        add(s, BigInt(s.webSearch) * SCALE, {
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
