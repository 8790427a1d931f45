import type { SimApiKey, SimulatorState } from './state.js';

/**
 * The simulator's usage ground truth. Everything the report endpoints serve is derived from HOURLY rows, one per
 * traffic source (API key or Console, workspace, model, service tier) and UTC hour with traffic:
 *
 * - a `1d` usage bucket is exactly the sum of its 24 hours, a `1h` bucket is the hour, and a `1m` bucket is an exact
 *   integer split of its hour (the 60 minutes sum back to the hour);
 * - the cost report (1d) is exactly Σ tokens × SIM_PRICES (cents per million tokens, ×0.5 for the batch tier) over
 *   those hourly rows, plus web search at $10 per 1,000 requests (1 cent each), in exact decimal cent strings;
 * - the hour containing `state.now()` carries the elapsed fraction of its traffic (so a later fetch revises it) and
 *   later hours carry nothing.
 *
 * Rows are a pure function of (seeded keys, hour): a fast integer hash of a per-source seed and the hour index, with
 * a diurnal/weekday shape, heavy flat batch keys, keys idle in some hours and some Console usage (api_key_id null).
 * Only keys that were active when they were added carry traffic (archived/inactive keys stay idle), and a key's
 * traffic starts at its created_at and stops at its expires_at.
 *
 * Hooks for tests (see SimulatorState):
 * - `state.usageRows(fromMs, toMs)`: the hourly rows whose hour starts in [fromMs, toMs), as of `state.now()`,
 *   after revisions. Tests compute expected report totals from these independently of the bot.
 * - `usageCostUnits(row)` / `usageCostByTokenType(row)`: the exact cost of a row in 1e-7 cent units (bigint);
 *   `formatCents(units)` renders units as the cost report's decimal cent string.
 * - `state.reviseUsage({ apiKeyId, hourStart, factor | tokens, model?, serviceTier? })`: changes one hour after the
 *   fact; both reports reflect it.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type ServiceTier = 'standard' | 'batch';

/** Cents per million tokens (USD price × 100), the admin-api.md §6 prices of the models the simulator serves. */
export interface SimModelPrice {
  display: string;
  in: number;
  w5m: number;
  w1h: number;
  read: number;
  out: number;
}

export const SIM_PRICES: Readonly<Record<string, SimModelPrice>> = {
  'claude-sonnet-4-5-20250929': { display: 'Claude Sonnet 4.5', in: 300, w5m: 375, w1h: 600, read: 30, out: 1500 },
  'claude-opus-4-6': { display: 'Claude Opus 4.6', in: 500, w5m: 625, w1h: 1000, read: 50, out: 2500 },
  'claude-haiku-4-5': { display: 'Claude Haiku 4.5', in: 100, w5m: 125, w1h: 200, read: 10, out: 500 },
  'claude-sonnet-5': { display: 'Claude Sonnet 5', in: 200, w5m: 250, w1h: 400, read: 20, out: 1000 },
};
/** Web search: $10 per 1,000 requests = 1 cent per request. */
export const WEB_SEARCH_CENTS_PER_REQUEST = 1;

/** One hour of one traffic source. Token fields use the names of src/core/spend/prices.ts TokenCounts. */
export interface UsageRow {
  /** Start of the UTC hour, epoch ms. */
  hourStart: number;
  /** null = Console/Workbench usage. */
  apiKeyId: string | null;
  /** null = the Default workspace (as the API reports it). */
  workspaceId: string | null;
  model: string;
  serviceTier: ServiceTier;
  uncachedInput: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
  webSearchRequests: number;
}

export type TokenField = 'uncachedInput' | 'cacheRead' | 'cacheWrite5m' | 'cacheWrite1h' | 'output';
const FIELDS = ['uncachedInput', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'output', 'webSearchRequests'] as const;

/** The cost report's token types, their description labels and price columns. */
export const TOKEN_TYPES = [
  { type: 'uncached_input_tokens', label: 'Input Tokens', price: 'in', field: 'uncachedInput' },
  { type: 'output_tokens', label: 'Output Tokens', price: 'out', field: 'output' },
  { type: 'cache_read_input_tokens', label: 'Cache Read Input Tokens', price: 'read', field: 'cacheRead' },
  {
    type: 'cache_creation.ephemeral_5m_input_tokens',
    label: 'Cache Write (5m) Input Tokens',
    price: 'w5m',
    field: 'cacheWrite5m',
  },
  {
    type: 'cache_creation.ephemeral_1h_input_tokens',
    label: 'Cache Write (1h) Input Tokens',
    price: 'w1h',
    field: 'cacheWrite1h',
  },
] as const;

/** 1e-7 cent units per cent: amounts are accumulated in these so the decimal strings are exact. */
export const UNITS_PER_CENT = 10_000_000n;

/**
 * Exact cost of `tokens` of one token type in 1e-7 cent units: tokens × cents-per-million / 1e6 × 1e7, halved for
 * the batch tier. Always an integer because the prices are whole cents per million.
 */
export function tokenCostUnits(tokens: number, centsPerMillion: number, tier: ServiceTier): bigint {
  const units = BigInt(tokens) * BigInt(centsPerMillion) * 10n;
  return tier === 'batch' ? units / 2n : units;
}

/** Cost of one row per token type (cost report `token_type`), plus `web_search`, in 1e-7 cent units. */
export function usageCostByTokenType(row: UsageRow): Record<string, bigint> {
  const price = SIM_PRICES[row.model];
  const out: Record<string, bigint> = {};
  for (const t of TOKEN_TYPES) out[t.type] = price ? tokenCostUnits(row[t.field], price[t.price], row.serviceTier) : 0n;
  out.web_search = BigInt(row.webSearchRequests) * BigInt(WEB_SEARCH_CENTS_PER_REQUEST) * UNITS_PER_CENT;
  return out;
}

/** Exact total cost of one hourly row in 1e-7 cent units (tokens × SIM_PRICES, ×0.5 batch, + web search). */
export function usageCostUnits(row: UsageRow): bigint {
  let total = 0n;
  for (const v of Object.values(usageCostByTokenType(row))) total += v;
  return total;
}

/** 1e-7 cent units as the cost report's decimal cent string ("123.45" = $1.2345), exact, no trailing zeros. */
export function formatCents(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / UNITS_PER_CENT;
  const frac = (abs % UNITS_PER_CENT).toString().padStart(7, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Revisions

export interface UsageRevision {
  /** The key whose hour changes; null = Console usage. */
  apiKeyId: string | null;
  /** Any instant inside the hour (Date, ISO string or epoch ms); snapped to the UTC hour. */
  hourStart: Date | string | number;
  /** Multiply every token count (and web search requests) of the matching rows; floor()ed. 0 removes the rows. */
  factor?: number;
  /**
   * Absolute values for the matching rows (fields left out keep their values). If the key had no row that hour, a
   * row is created (workspace = the key's, model = `model` or Sonnet 4.5, tier = `serviceTier` or standard).
   */
  tokens?: Partial<Omit<UsageRow, 'hourStart' | 'apiKeyId' | 'workspaceId' | 'model' | 'serviceTier'>>;
  /** Restrict to one model / tier of the key. */
  model?: string;
  serviceTier?: ServiceTier;
}

interface StoredRevision {
  apiKeyId: string | null;
  model?: string;
  serviceTier?: ServiceTier;
  factor?: number;
  tokens?: UsageRevision['tokens'];
}

// ---------------------------------------------------------------------------------------------------------------
// The traffic model

/** Fast deterministic 32-bit mixing (murmur3 finaliser); hashing is the hot path of a 10,000-key month. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return h >>> 0;
}
const u01 = (seed: number, hourIdx: number, salt: number) => mix(mix(seed, hourIdx), salt) / 4294967296;

/** Seed from a string (FNV-1a, then mixed). */
function seedOf(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return mix(h >>> 0, 0x5bd1e995);
}
const labelRandom = (label: string) => seedOf(label) / 4294967296;

type Profile = 'interactive' | 'batch' | 'console';

/** Hour-of-week (0 = Sunday 00:00 UTC) weights in [0, 1]. */
function shapeTable(profile: Profile): Float64Array {
  const t = new Float64Array(168);
  for (let dow = 0; dow < 7; dow++) {
    const weekend = dow === 0 || dow === 6;
    for (let hod = 0; hod < 24; hod++) {
      // Working hours across Europe and the Americas peak around 17:00 UTC.
      const day = Math.max(0, Math.cos(((hod - 17) * Math.PI) / 12)) ** 1.5;
      let w: number;
      if (profile === 'batch') w = (hod < 7 ? 1 : 0.75) * (weekend ? 0.9 : 1);
      else if (profile === 'console') w = (0.03 + 0.97 * day) * (weekend ? 0.1 : 1);
      else w = (0.12 + 0.88 * day) * (weekend ? 0.3 : 1);
      t[dow * 24 + hod] = w;
    }
  }
  return t;
}
const SHAPES: Record<Profile, Float64Array> = {
  interactive: shapeTable('interactive'),
  batch: shapeTable('batch'),
  console: shapeTable('console'),
};

interface TrafficSource {
  apiKeyId: string | null;
  workspaceId: string | null;
  model: string;
  tier: ServiceTier;
  seed: number;
  fromHour: number;
  untilHour: number;
  /** Probability of traffic in an hour of weight 1. */
  level: number;
  /** Uncached input tokens in a busy hour of weight 1. */
  base: number;
  shape: Float64Array;
  read: number;
  w5m: number;
  w1h: number;
  out: number;
  webSearch: number;
}

interface InternalRow extends UsageRow {
  seed: number;
  /** What produced the row (its traffic source, or the revision that created it): stable, so reports can group by it. */
  origin: object;
}

const MODEL_MIX: Array<[string, number]> = [
  ['claude-sonnet-4-5-20250929', 0.4],
  ['claude-haiku-4-5', 0.25],
  ['claude-sonnet-5', 0.2],
  ['claude-opus-4-6', 0.15],
];
function pickModel(r: number): string {
  let acc = 0;
  for (const [m, w] of MODEL_MIX) {
    acc += w;
    if (r < acc) return m;
  }
  return MODEL_MIX[0]![0];
}

const BATCH_NAME = /batch|evals|sweeps|dataset-gen/;

const hourOf = (ms: number) => Math.floor(ms / HOUR);

/** Builds the traffic sources of an organization from its seeded keys (`seededStatus`: status when added). */
function buildSources(state: SimulatorState, seededStatus: ReadonlyMap<string, string>): TrafficSource[] {
  const defaultId = state.defaultWorkspace?.id ?? null;
  const large = state.apiKeys.length >= 1000;
  const keyShare = large ? 0.11 : 0.85;
  const out: TrafficSource[] = [];
  const add = (
    key: SimApiKey | null,
    label: string,
    workspaceId: string | null,
    model: string,
    tier: ServiceTier,
    profile: Profile,
    fromMs: number,
    untilMs: number,
  ) => {
    const r = (salt: string) => labelRandom(`${label}:${salt}`);
    const heavy = tier === 'batch';
    // Log-uniform volumes: interactive 5k-300k uncached input tokens in a busy hour, batch 40k-400k every hour.
    const base = heavy ? 40_000 * 10 ** r('base') : 5_000 * 60 ** r('base');
    const level = heavy ? 0.85 + 0.15 * r('level') : profile === 'console' ? 0.5 : 0.25 + 0.75 * r('level');
    out.push({
      apiKeyId: key?.id ?? null,
      workspaceId: workspaceId === defaultId ? null : workspaceId,
      model,
      tier,
      seed: seedOf(label),
      fromHour: Math.ceil(fromMs / HOUR),
      untilHour: Number.isFinite(untilMs) ? Math.ceil(untilMs / HOUR) : Number.POSITIVE_INFINITY,
      level,
      base,
      shape: SHAPES[profile],
      read: r('cached') < 0.25 ? 0 : 3 * r('read'),
      w5m: r('cached') < 0.25 ? 0 : 0.02 + 0.15 * r('w5m'),
      w1h: r('w1h') < 0.6 ? 0 : 0.05 * r('w1h1'),
      out: heavy ? 0.3 + 0.5 * r('out') : 0.08 + 0.35 * r('out'),
      webSearch: !heavy && r('web') < 0.2 ? 1 + 30 * r('webrate') : 0,
    });
  };
  for (const key of state.apiKeys) {
    const status = seededStatus.get(key.id) ?? key.status;
    if (status !== 'active') continue;
    if (labelRandom(`traffic:${key.id}`) >= keyShare) continue;
    // Half of the batch-looking keys (large organizations) really run batches; the rest are interactive.
    const batch = BATCH_NAME.test(key.name) && (!large || labelRandom(`batch:${key.id}`) < 0.5);
    const tier: ServiceTier = batch ? 'batch' : 'standard';
    const profile: Profile = batch ? 'batch' : 'interactive';
    const from = Date.parse(key.created_at);
    const until = key.expires_at ? Date.parse(key.expires_at) : Number.POSITIVE_INFINITY;
    const ws = key.scope_workspace_id;
    const m1 = pickModel(labelRandom(`model:${key.id}`));
    add(key, `src:${key.id}:${m1}`, ws, m1, tier, profile, from, until);
    if (labelRandom(`model2:${key.id}`) < 0.3) {
      const m2 = pickModel(labelRandom(`model2b:${key.id}`));
      if (m2 !== m1) add(key, `src:${key.id}:${m2}`, ws, m2, 'standard', 'interactive', from, until);
    }
  }
  // Console / Workbench usage: no key, in the Default workspace and one other workspace.
  if (state.workspaces.length === 0) return out;
  const consoleStart = Math.min(...state.workspaces.map((w) => Date.parse(w.created_at)));
  const firstOther = state.workspaces.find((w) => !w.is_default && w.archived_at === null);
  add(null, 'console:default', defaultId, 'claude-sonnet-4-5-20250929', 'standard', 'console', consoleStart, Infinity);
  if (firstOther) {
    add(
      null,
      `console:${firstOther.id}`,
      firstOther.id,
      'claude-opus-4-6',
      'standard',
      'console',
      consoleStart,
      Infinity,
    );
  }
  return out;
}

/** The hour's full (not time-clipped) traffic of a source, or null when it was idle. */
function sourceHour(s: TrafficSource, hourIdx: number): InternalRow | null {
  if (hourIdx < s.fromHour || hourIdx >= s.untilHour) return null;
  const how = ((((Math.floor(hourIdx / 24) + 4) % 7) + 7) % 7) * 24 + (((hourIdx % 24) + 24) % 24);
  const w = s.shape[how]!;
  if (u01(s.seed, hourIdx, 1) >= Math.min(0.97, s.level * (0.25 + w))) return null;
  const vol = s.base * (0.15 + w) * (0.5 + u01(s.seed, hourIdx, 2));
  const jitter = 0.7 + 0.6 * u01(s.seed, hourIdx, 3);
  return {
    hourStart: hourIdx * HOUR,
    apiKeyId: s.apiKeyId,
    workspaceId: s.workspaceId,
    model: s.model,
    serviceTier: s.tier,
    uncachedInput: Math.max(1, Math.floor(vol)),
    cacheRead: Math.floor(vol * s.read * jitter),
    cacheWrite5m: Math.floor(vol * s.w5m * (2 - jitter)),
    cacheWrite1h: Math.floor(vol * s.w1h * jitter),
    output: Math.floor(vol * s.out * (0.6 + 0.8 * u01(s.seed, hourIdx, 4))),
    webSearchRequests: s.webSearch ? Math.floor(s.webSearch * (0.2 + 1.6 * u01(s.seed, hourIdx, 5))) : 0,
    seed: s.seed,
    origin: s,
  };
}

const isEmpty = (r: UsageRow) => FIELDS.every((f) => r[f] === 0);

/**
 * Per-organization usage model: traffic sources (built lazily from the keys, cached until the keys change) and the
 * revisions applied on top. Owned by SimulatorState.
 */
export class UsageModel {
  private sources: TrafficSource[] | null = null;
  private sourceKeyCount = -1;
  private readonly revisions = new Map<number, StoredRevision[]>();

  constructor(
    private readonly state: SimulatorState,
    private readonly seededStatus: ReadonlyMap<string, string>,
  ) {}

  private allSources(): TrafficSource[] {
    if (!this.sources || this.sourceKeyCount !== this.state.apiKeys.length) {
      this.sources = buildSources(this.state, this.seededStatus);
      this.sourceKeyCount = this.state.apiKeys.length;
    }
    return this.sources;
  }

  /** Forget sources and revisions (the organization was reseeded). */
  reset(): void {
    this.sources = null;
    this.revisions.clear();
  }

  revise(r: UsageRevision): void {
    const ms = typeof r.hourStart === 'number' ? r.hourStart : new Date(r.hourStart).getTime();
    if (Number.isNaN(ms)) throw new Error('reviseUsage: invalid hourStart');
    if (r.factor === undefined && r.tokens === undefined) throw new Error('reviseUsage: give factor or tokens');
    if (r.factor !== undefined && !(r.factor >= 0)) throw new Error('reviseUsage: factor must be >= 0');
    const hourIdx = hourOf(ms);
    const list = (this.revisions.get(hourIdx) ?? []).filter(
      (x) => !(x.apiKeyId === r.apiKeyId && x.model === r.model && x.serviceTier === r.serviceTier),
    );
    list.push({ apiKeyId: r.apiKeyId, model: r.model, serviceTier: r.serviceTier, factor: r.factor, tokens: r.tokens });
    this.revisions.set(hourIdx, list);
  }

  /** Rows of one hour as of `nowMs` (the current hour scaled by its elapsed fraction), revisions applied. */
  hourRows(hourIdx: number, nowMs: number): InternalRow[] {
    const start = hourIdx * HOUR;
    if (start >= nowMs) return [];
    const frac = nowMs >= start + HOUR ? 1 : (nowMs - start) / HOUR;
    const rows: InternalRow[] = [];
    for (const s of this.allSources()) {
      const row = sourceHour(s, hourIdx);
      if (!row) continue;
      if (frac < 1) for (const f of FIELDS) row[f] = Math.floor(row[f] * frac);
      rows.push(row);
    }
    const revs = this.revisions.get(hourIdx);
    if (revs) {
      for (const rev of revs) {
        const matches = rows.filter(
          (r) =>
            r.apiKeyId === rev.apiKeyId &&
            (rev.model === undefined || r.model === rev.model) &&
            (rev.serviceTier === undefined || r.serviceTier === rev.serviceTier),
        );
        if (matches.length === 0 && rev.tokens) {
          const key = rev.apiKeyId ? this.state.apiKeys.find((k) => k.id === rev.apiKeyId) : undefined;
          const defaultId = this.state.defaultWorkspace?.id ?? null;
          const ws = key?.scope_workspace_id ?? null;
          const row: InternalRow = {
            hourStart: start,
            apiKeyId: rev.apiKeyId,
            workspaceId: ws === defaultId ? null : ws,
            model: rev.model ?? 'claude-sonnet-4-5-20250929',
            serviceTier: rev.serviceTier ?? 'standard',
            uncachedInput: 0,
            cacheRead: 0,
            cacheWrite5m: 0,
            cacheWrite1h: 0,
            output: 0,
            webSearchRequests: 0,
            seed: seedOf(`revision:${rev.apiKeyId}`),
            origin: rev,
          };
          rows.push(row);
          matches.push(row);
        }
        for (const r of matches) {
          if (rev.tokens) for (const f of FIELDS) if (rev.tokens[f] !== undefined) r[f] = Math.floor(rev.tokens[f]!);
          if (rev.factor !== undefined) for (const f of FIELDS) r[f] = Math.floor(r[f] * rev.factor);
        }
      }
      return rows.filter((r) => !isEmpty(r));
    }
    return rows;
  }

  /** Hourly rows whose hour starts in [fromMs, toMs), in hour order. */
  rows(fromMs: number, toMs: number, nowMs: number): InternalRow[] {
    const out: InternalRow[] = [];
    for (let h = Math.ceil(fromMs / HOUR); h * HOUR < toMs; h++) for (const r of this.hourRows(h, nowMs)) out.push(r);
    return out;
  }
}

/** Cumulative minute weights of a row's hour (61 entries); minutes starting at or after `nowMs` weigh 0. */
function minuteWeights(row: InternalRow, nowMs: number): Int32Array {
  const hourIdx = row.hourStart / HOUR;
  const cum = new Int32Array(61);
  for (let m = 0; m < 60; m++) {
    const w = row.hourStart + m * MINUTE < nowMs ? 1 + (mix(mix(row.seed, hourIdx), 1000 + m) % 16) : 0;
    cum[m + 1] = cum[m]! + w;
  }
  return cum;
}

/**
 * The minute `m` (0-59) of an hourly row: an integer split of every field, proportional to deterministic minute
 * weights, such that the 60 minutes sum exactly to the hour.
 */
export function minuteSlice(
  row: InternalRow,
  m: number,
  nowMs: number,
  cache?: Map<InternalRow, Int32Array>,
): InternalRow {
  let cum = cache?.get(row);
  if (!cum) {
    cum = minuteWeights(row, nowMs);
    cache?.set(row, cum);
  }
  const total = cum[60]!;
  const out: InternalRow = { ...row };
  for (const f of FIELDS) {
    const v = row[f];
    out[f] = total === 0 ? 0 : Math.floor((v * cum[m + 1]!) / total) - Math.floor((v * cum[m]!) / total);
  }
  return out;
}

/** The public shape of a row (without the internal seed). */
export function publicRow(r: InternalRow): UsageRow {
  const { seed: _seed, origin: _origin, ...row } = r;
  return row;
}

export type { InternalRow };
