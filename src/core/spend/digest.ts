/**
 * The usage digest of one UTC day D, computed from the ingested reports (store.spendQueries: the database groups
 * and sums, nothing here walks raw rows) and the synced directory (names).
 *
 * What is exact and what is estimated:
 *  - Cost of D, the 7-day average, month to date, the forecast, per-workspace money and the 30-day chart come from
 *    the cost report (exact, bigint nano-dollars).
 *  - Money per key and per model is tokens × the price table (../spend/prices.ts, overridable in
 *    quartermaster.yaml): an ESTIMATE, labelled so in the text, the reply and the JSON.
 *  - Forecast for the month = month to date + (the cost of the 7 days ending with D) / 7 × the days left in the
 *    month after D. Said in the text too (FORECAST_METHOD).
 *  - Budgets are issue 10: `budgets` is null until they exist, and the digest then says nothing about them.
 */
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import type { ApiKey, OrgUser, Workspace } from '../ports/admin-api.js';
import type { ClaudeCodeActorSum, TokenSums } from '../ports/spend.js';
import type { Services } from '../services.js';
import { formatUsd, type Nanos, ratio, roundTo, usdString } from './money.js';
import { DEFAULT_PRICES, estimateNanos, type PriceTable } from './prices.js';

export const DAY_MS = 86_400_000;
/** How many entries the top lists show. */
export const TOP_N = 5;
/** Workspaces drawn separately in the chart; the rest is "Other". */
export const CHART_WORKSPACES = 5;
export const CHART_DAYS = 30;
export const FORECAST_METHOD =
  'month to date + the average daily cost of the last 7 days (through the reported day) × the days left in the month';

export interface TokenSummary {
  /** Input (uncached + cache reads + cache writes) and output tokens. */
  total: bigint;
  input: bigint;
  output: bigint;
  cacheRead: bigint;
}

export interface DigestWorkspace {
  /** '' is the Default workspace. */
  id: string;
  name: string;
  nanos: Nanos;
}

export interface DigestKey {
  id: string;
  /** The key's name from the synced directory, or its id when unknown; '' for usage without a key (Console). */
  name: string;
  workspaceId: string;
  workspaceName: string;
  tokens: bigint;
  /** Tokens × list prices; null when no model of the key has a price. */
  estimateNanos: Nanos | null;
}

export interface DigestModel {
  model: string;
  tokens: bigint;
  estimateNanos: Nanos | null;
}

export interface DigestClaudeCodeUser {
  actorType: string;
  actor: string;
  sessions: number;
  linesAdded: number;
  linesRemoved: number;
  costNanos: Nanos;
}

export interface DigestChange {
  kind: 'key_created' | 'member_added' | 'request_done';
  /** Already written for people (names as they are: escape before embedding). */
  subject: string;
  detail: string;
}

export interface DigestPending {
  id: string;
  summary: string;
  createdAt: Date;
}

export interface DigestAnomaly {
  subjectType: 'key' | 'workspace';
  subjectId: string;
  /** The key's or workspace's name from the synced directory (its id when unknown). */
  name: string;
  workspaceName: string;
  window: 'hour' | 'day';
  startedAt: Date;
  /** Estimated cost of the window that opened the episode, and its baseline p95. */
  costNanos: Nanos;
  baselineNanos: Nanos;
  ended: boolean;
}

/** A leak incident first seen on the digest's day (issue 11): never more of the secret than its hint. */
export interface DigestLeak {
  id: string;
  kind: string;
  hint: string;
  keyName: string | null;
  status: string;
  sightings: number;
  firstSeenAt: Date;
}

export interface Digest {
  /** UTC midnight of the reported day. */
  day: Date;
  generatedAt: Date;
  organization: string | null;
  cost: {
    day: Nanos;
    /** Sum of the 7 days before D, and its average (rounded once to a nano-dollar). */
    previous7: Nanos;
    average7: Nanos;
    /** (day − average7) / average7; null when the average is 0. */
    change: number | null;
    /** False when the cost report has no row for D at all (not synced yet, or no spend). */
    hasData: boolean;
  };
  tokens: {
    day: TokenSummary;
    average7: bigint;
    change: number | null;
    /** cache_read / (uncached + cache_read + cache writes) on D; null without input. */
    cacheReadShare: number | null;
  };
  month: {
    start: Date;
    toDate: Nanos;
    daysInMonth: number;
    /** Days of the month after D. */
    daysLeft: number;
    /** The cost of the 7 days ending with D (the forecast's rate). */
    last7: Nanos;
    forecast: Nanos;
    method: string;
  };
  /** Issue 10 (limits) fills this; null: no budgets exist in this version. */
  budgets: null;
  topWorkspaces: DigestWorkspace[];
  /** Estimates (tokens × prices). */
  topKeys: DigestKey[];
  /** Estimates (tokens × prices). */
  topModels: DigestModel[];
  claudeCode: {
    users: DigestClaudeCodeUser[];
    sessions: number;
    linesAdded: number;
    linesRemoved: number;
    costNanos: Nanos;
  };
  changes: DigestChange[];
  pending: { count: number; oldest: DigestPending[] };
  /** Runaway-spend episodes that started on D (spend.anomalies; amounts are estimates). */
  anomalies: DigestAnomaly[];
  /** Leak incidents first seen on D (store.leaks.firstSeenBetween). */
  leaks: DigestLeak[];
  /** Cost per day (the CHART_DAYS days ending with D) per workspace, for the chart. */
  daily: { days: Date[]; workspaces: DigestWorkspace[]; perDay: Map<string, Nanos[]> };
}

const utcMidnight = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
const addDays = (d: Date, n: number) => new Date(d.getTime() + n * DAY_MS);
export const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export function tokenSummary(t: TokenSums | null | undefined): TokenSummary {
  if (!t) return { total: 0n, input: 0n, output: 0n, cacheRead: 0n };
  const input = t.uncachedInput + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  return { total: input + t.output, input, output: t.output, cacheRead: t.cacheRead };
}

/** (a − b) / b on integers; null when b is 0. */
function change(a: bigint, b: bigint): number | null {
  return b === 0n ? null : ratio(a - b, b);
}

/** Default-workspace aware name of a workspace id. */
export function workspaceName(id: string, workspaces: ReadonlyMap<string, Workspace>): string {
  if (id === '') return 'Default';
  return workspaces.get(id)?.name ?? id;
}

/** Yesterday, in UTC (or the day before "today" in the given IANA zone), as a UTC midnight. */
export function defaultDigestDay(now: Date, timeZone?: string): Date {
  if (!timeZone) return addDays(utcMidnight(now), -1);
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
  return addDays(new Date(`${parts}T00:00:00Z`), -1);
}

/** The price table in force (quartermaster.yaml's `spend.prices` over the defaults). */
export function pricesOf(services: Services): PriceTable {
  return services.policy.prices ?? DEFAULT_PRICES;
}

export async function buildDigest(services: Services, o: { day: Date }): Promise<Digest> {
  const q = services.store.spendQueries;
  const day = utcMidnight(o.day);
  const next = addDays(day, 1);
  const weekBefore = addDays(day, -7);
  const monthStart = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1));
  const monthEnd = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1));
  const chartStart = addDays(day, -(CHART_DAYS - 1));
  const rangeStart = new Date(Math.min(chartStart.getTime(), monthStart.getTime(), weekBefore.getTime()));
  const prices = pricesOf(services);

  const [costDays, tokenDays, byKeyModel, claude, directory, counts, pendingList, doneList] = await Promise.all([
    q.costByDay(rangeStart, next, { byWorkspace: true }),
    q.tokensByDay(weekBefore, next),
    q.tokens(day, next, ['apiKeyId', 'workspaceId', 'model', 'serviceTier']),
    q.claudeCodeByActor(day, next),
    services.directory.forList(),
    services.store.approvals.countByStatus(),
    services.store.approvals.list({ statuses: ['pending'], limit: 200 }),
    services.store.approvals.list({ statuses: ['done'], limit: 200 }),
  ]);
  const anomalyRows = await services.store.limits.anomaliesBetween(day, next);
  const leakRows = await services.store.leaks.firstSeenBetween(day, next);
  const organization = await services.organization().then(
    (org) => org.name,
    () => null,
  );

  // ---- cost (cost report; per workspace per day, summed here over at most a few dozen groups a day)
  const perDayTotal = new Map<number, Nanos>();
  const wsPerDay = new Map<string, Map<number, Nanos>>();
  let hasData = false;
  for (const r of costDays) {
    const t = r.day.getTime();
    perDayTotal.set(t, (perDayTotal.get(t) ?? 0n) + r.nanos);
    const ws = r.workspaceId ?? '';
    let m = wsPerDay.get(ws);
    if (!m) {
      m = new Map();
      wsPerDay.set(ws, m);
    }
    m.set(t, (m.get(t) ?? 0n) + r.nanos);
    if (t === day.getTime()) hasData = true;
  }
  const costOn = (d: Date) => perDayTotal.get(d.getTime()) ?? 0n;
  const sumDays = (from: Date, n: number) => {
    let s = 0n;
    for (let i = 0; i < n; i++) s += costOn(addDays(from, i));
    return s;
  };
  const dayCost = costOn(day);
  const previous7 = sumDays(weekBefore, 7);
  const average7 = roundTo(previous7, 7n);
  let toDate = 0n;
  for (let d = monthStart; d < next; d = addDays(d, 1)) toDate += costOn(d);
  const daysInMonth = Math.round((monthEnd.getTime() - monthStart.getTime()) / DAY_MS);
  const daysLeft = Math.round((monthEnd.getTime() - next.getTime()) / DAY_MS);
  const last7 = sumDays(addDays(day, -6), 7);
  const forecast = toDate + roundTo(last7 * BigInt(daysLeft), 7n);

  // ---- tokens
  const tokensOn = new Map(tokenDays.map((t) => [t.day.getTime(), tokenSummary(t)]));
  const dayTokens = tokensOn.get(day.getTime()) ?? tokenSummary(null);
  let prevTokens = 0n;
  for (let i = 0; i < 7; i++) prevTokens += tokensOn.get(addDays(weekBefore, i).getTime())?.total ?? 0n;
  const tokenAverage7 = roundTo(prevTokens, 7n);

  // ---- names
  const workspaces = new Map(directory.listWorkspaces().map((w) => [w.id, w]));
  const keyById = new Map<string, ApiKey>(directory.listApiKeys().map((k) => [k.id, k]));

  // ---- top workspaces (cost report, D)
  const topWorkspaces = [...wsPerDay.entries()]
    .map(([id, m]) => ({ id, name: workspaceName(id, workspaces), nanos: m.get(day.getTime()) ?? 0n }))
    .filter((w) => w.nanos !== 0n)
    .sort(byNanosDesc)
    .slice(0, TOP_N);

  // ---- top keys and models (estimates: tokens × prices, per key/model/tier group of D)
  const keys = new Map<string, DigestKey>();
  const models = new Map<string, DigestModel>();
  let uncachedIn = 0n;
  let cacheIn = 0n;
  for (const g of byKeyModel) {
    const est = estimateNanos(g, g.model!, g.serviceTier!, prices);
    const tokens = tokenSummary(g).total;
    const keyId = g.apiKeyId ?? '';
    let k = keys.get(keyId);
    if (!k) {
      const dirKey = keyById.get(keyId);
      const wsId = dirKey ? (dirKey.workspaceId ?? '') : (g.workspaceId ?? '');
      k = {
        id: keyId,
        name: keyId === '' ? '' : (dirKey?.name ?? keyId),
        workspaceId: wsId,
        workspaceName: workspaceName(wsId, workspaces),
        tokens: 0n,
        estimateNanos: null,
      };
      keys.set(keyId, k);
    }
    k.tokens += tokens;
    if (est !== null) k.estimateNanos = (k.estimateNanos ?? 0n) + est;
    let m = models.get(g.model!);
    if (!m) {
      m = { model: g.model!, tokens: 0n, estimateNanos: null };
      models.set(g.model!, m);
    }
    m.tokens += tokens;
    if (est !== null) m.estimateNanos = (m.estimateNanos ?? 0n) + est;
    uncachedIn += g.uncachedInput + g.cacheWrite5m + g.cacheWrite1h;
    cacheIn += g.cacheRead;
  }
  const byEstimate = <T extends { estimateNanos: Nanos | null; tokens: bigint }>(
    a: T,
    b: T,
    ka: string,
    kb: string,
  ) => {
    const ea = a.estimateNanos ?? -1n;
    const eb = b.estimateNanos ?? -1n;
    if (ea !== eb) return ea > eb ? -1 : 1;
    if (a.tokens !== b.tokens) return a.tokens > b.tokens ? -1 : 1;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  const topKeys = [...keys.values()].sort((a, b) => byEstimate(a, b, a.id, b.id)).slice(0, TOP_N);
  const topModels = [...models.values()].sort((a, b) => byEstimate(a, b, a.model, b.model)).slice(0, TOP_N);
  const inputAll = uncachedIn + cacheIn;

  // ---- Claude Code
  const users = claude.map(
    (c: ClaudeCodeActorSum): DigestClaudeCodeUser => ({
      actorType: c.actorType,
      actor: c.actor,
      sessions: c.sessions,
      linesAdded: c.linesAdded,
      linesRemoved: c.linesRemoved,
      costNanos: c.costNanos,
    }),
  );

  // ---- keys and members added or changed on D
  const onDay = (iso: string | null) => {
    if (!iso) return false;
    const t = Date.parse(iso);
    return t >= day.getTime() && t < next.getTime();
  };
  const changes: DigestChange[] = [];
  for (const k of directory.listApiKeys()) {
    if (!onDay(k.createdAt)) continue;
    const owner = k.createdBy?.type === 'user' ? (directory.user(k.createdBy.id)?.email ?? k.createdBy.id) : null;
    changes.push({
      kind: 'key_created',
      subject: k.name,
      detail: `key created in ${workspaceName(k.workspaceId ?? '', workspaces)}${owner ? ` by ${owner}` : ''}`,
    });
  }
  for (const u of directory.listUsers() as OrgUser[]) {
    if (onDay(u.addedAt)) changes.push({ kind: 'member_added', subject: u.email, detail: `joined as ${u.role}` });
  }
  for (const r of doneList) {
    if (r.executedAt && r.executedAt >= day && r.executedAt < next) {
      changes.push({ kind: 'request_done', subject: r.id, detail: r.summary });
    }
  }

  // ---- the chart's days
  const days: Date[] = [];
  for (let i = 0; i < CHART_DAYS; i++) days.push(addDays(chartStart, i));
  const chartWs = [...wsPerDay.entries()]
    .map(([id, m]) => {
      let s = 0n;
      for (const d of days) s += m.get(d.getTime()) ?? 0n;
      return { id, name: workspaceName(id, workspaces), nanos: s };
    })
    .filter((w) => w.nanos !== 0n)
    .sort(byNanosDesc);
  const perDay = new Map<string, Nanos[]>();
  for (const w of chartWs)
    perDay.set(
      w.id,
      days.map((d) => wsPerDay.get(w.id)?.get(d.getTime()) ?? 0n),
    );

  return {
    day,
    generatedAt: services.clock.now(),
    organization,
    cost: { day: dayCost, previous7, average7, change: change(dayCost, average7), hasData },
    tokens: {
      day: dayTokens,
      average7: tokenAverage7,
      change: change(dayTokens.total, tokenAverage7),
      cacheReadShare: inputAll === 0n ? null : ratio(cacheIn, inputAll),
    },
    month: { start: monthStart, toDate, daysInMonth, daysLeft, last7, forecast, method: FORECAST_METHOD },
    budgets: null,
    topWorkspaces,
    topKeys,
    topModels,
    claudeCode: {
      users,
      sessions: users.reduce((s, u) => s + u.sessions, 0),
      linesAdded: users.reduce((s, u) => s + u.linesAdded, 0),
      linesRemoved: users.reduce((s, u) => s + u.linesRemoved, 0),
      costNanos: users.reduce((s, u) => s + u.costNanos, 0n),
    },
    changes,
    pending: {
      count: counts.pending ?? 0,
      oldest: pendingList
        .slice()
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .slice(0, TOP_N)
        .map((r) => ({ id: r.id, summary: r.summary, createdAt: r.createdAt })),
    },
    daily: { days, workspaces: chartWs, perDay },
    anomalies: anomalyRows.map((a): DigestAnomaly => {
      const key = a.subjectType === 'key' ? keyById.get(a.subjectId) : undefined;
      const wsId = a.subjectType === 'workspace' ? a.subjectId : (key?.workspaceId ?? '');
      return {
        subjectType: a.subjectType,
        subjectId: a.subjectId,
        name: a.subjectType === 'workspace' ? workspaceName(a.subjectId, workspaces) : (key?.name ?? a.subjectId),
        workspaceName: workspaceName(wsId, workspaces),
        window: a.window,
        startedAt: a.startedAt,
        costNanos: a.costNanos,
        baselineNanos: a.baselineNanos,
        ended: a.endedAt !== null,
      };
    }),
    leaks: leakRows.map(
      (i): DigestLeak => ({
        id: i.id,
        kind: i.kind,
        hint: i.hint,
        keyName: i.apiKeyName,
        status: i.status,
        sightings: i.sightingCount,
        firstSeenAt: i.firstSeenAt,
      }),
    ),
  };
}

function byNanosDesc(a: { nanos: Nanos; id: string }, b: { nanos: Nanos; id: string }): number {
  if (a.nanos !== b.nanos) return a.nanos > b.nanos ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---- presentation --------------------------------------------------------------------------------------------

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);
const signedPct = (r: number | null) => {
  const p = pct(r);
  if (p === null) return 'no 7-day average to compare';
  return `${p > 0 ? '+' : ''}${p.toFixed(1)}% vs the 7-day average`;
};
export const formatTokens = (n: bigint) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const estimateUsd = (n: Nanos | null) => (n === null ? null : usdString(n));
const estimateText = (n: Nanos | null) => (n === null ? 'no price' : `~${formatUsd(n)} (estimate)`);
const keyLabel = (k: DigestKey) => (k.id === '' ? 'Console (no key)' : k.name);

/** Every number the digest shows; USD as exact decimal strings (to the cent); estimates say so. */
export function digestJson(d: Digest): Record<string, unknown> {
  return {
    day: isoDay(d.day),
    generatedAt: d.generatedAt.toISOString(),
    organization: d.organization,
    currency: 'USD',
    cost: {
      source: 'cost_report',
      hasData: d.cost.hasData,
      day: usdString(d.cost.day),
      previous7Days: usdString(d.cost.previous7),
      average7Days: usdString(d.cost.average7),
      changeVsAverage: d.cost.change,
    },
    tokens: {
      day: d.tokens.day.total.toString(),
      input: d.tokens.day.input.toString(),
      output: d.tokens.day.output.toString(),
      cacheRead: d.tokens.day.cacheRead.toString(),
      average7Days: d.tokens.average7.toString(),
      changeVsAverage: d.tokens.change,
      cacheReadShare: d.tokens.cacheReadShare,
    },
    month: {
      start: isoDay(d.month.start),
      toDate: usdString(d.month.toDate),
      daysInMonth: d.month.daysInMonth,
      daysLeft: d.month.daysLeft,
      last7Days: usdString(d.month.last7),
      forecast: usdString(d.month.forecast),
      forecastMethod: d.month.method,
    },
    budgets: null,
    topWorkspaces: d.topWorkspaces.map((w) => ({ id: w.id || null, name: w.name, cost: usdString(w.nanos) })),
    topKeys: d.topKeys.map((k) => ({
      id: k.id || null,
      name: k.id === '' ? null : k.name,
      workspaceId: k.workspaceId || null,
      workspace: k.workspaceName,
      tokens: k.tokens.toString(),
      estimatedCost: estimateUsd(k.estimateNanos),
      estimate: true,
    })),
    topModels: d.topModels.map((m) => ({
      model: m.model,
      tokens: m.tokens.toString(),
      estimatedCost: estimateUsd(m.estimateNanos),
      estimate: true,
    })),
    claudeCode: {
      sessions: d.claudeCode.sessions,
      linesAdded: d.claudeCode.linesAdded,
      linesRemoved: d.claudeCode.linesRemoved,
      estimatedCost: usdString(d.claudeCode.costNanos),
      users: d.claudeCode.users.map((u) => ({
        actor: u.actor,
        actorType: u.actorType,
        sessions: u.sessions,
        linesAdded: u.linesAdded,
        linesRemoved: u.linesRemoved,
        estimatedCost: usdString(u.costNanos),
      })),
    },
    changes: d.changes.map((c) => ({ kind: c.kind, subject: c.subject, detail: c.detail })),
    pendingRequests: {
      count: d.pending.count,
      oldest: d.pending.oldest.map((p) => ({ id: p.id, summary: p.summary, createdAt: p.createdAt.toISOString() })),
    },
    anomalies: d.anomalies.map((a) => ({
      subjectType: a.subjectType,
      id: a.subjectId || null,
      name: a.name,
      workspace: a.workspaceName,
      window: a.window,
      startedAt: a.startedAt.toISOString(),
      estimatedCost: usdString(a.costNanos),
      estimatedBaselineP95: usdString(a.baselineNanos),
      estimate: true,
      ended: a.ended,
    })),
    leakIncidents: d.leaks.map((i) => ({
      id: i.id,
      kind: i.kind,
      hint: i.hint,
      key: i.keyName,
      status: i.status,
      sightings: i.sightings,
      firstSeenAt: i.firstSeenAt.toISOString(),
    })),
    daily: d.daily.days.map((day, i) => ({
      day: isoDay(day),
      byWorkspace: Object.fromEntries(
        d.daily.workspaces.map((w) => [w.id || 'default', usdString(d.daily.perDay.get(w.id)![i]!)]),
      ),
    })),
  };
}

interface Markup {
  escape(s: string): string;
  bold(s: string): string;
  code(s: string): string;
}
/** The neutral reply markup: names from users or the API escaped. */
const MARKUP: Markup = md;
/**
 * Plain text: names as they are, but never a control character. A terminal interprets C0/C1 controls (ESC
 * sequences set the title, write the clipboard, clear the screen), and a line break in a key's name would forge
 * a line of the digest: line breaks and tabs become spaces, every other control U+FFFD.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const plainSafe = (s: string) => s.replace(CONTROL, (c) => (c === '\n' || c === '\r' || c === '\t' ? ' ' : '\uFFFD'));
const PLAIN: Markup = { escape: plainSafe, bold: plainSafe, code: plainSafe };

/** The digest's sections as lines, in the reply's markup (escaped) or as plain text. */
/**
 * `channel`: the digest posted in chat (or previewed), read by everyone in the channel: requests appear as counts
 * with the command that lists them to whoever may see them, never with their summaries (names, e-mails and
 * reasons that the request rules show only to approvers). `operator`: the CLI, run by whoever holds the server.
 */
type Audience = 'channel' | 'operator';

function sections(d: Digest, f: Markup, audience: Audience): { heading: string; lines: string[] }[] {
  const out: { heading: string; lines: string[] }[] = [];
  const costLine = d.cost.hasData
    ? `${f.bold(formatUsd(d.cost.day))} (${signedPct(d.cost.change)} of ${formatUsd(d.cost.average7)}/day)`
    : `${f.bold(formatUsd(d.cost.day))} (no cost report rows for this day yet)`;
  out.push({
    heading: 'Cost',
    lines: [
      `Cost: ${costLine}`,
      `Tokens: ${formatTokens(d.tokens.day.total)} (${signedPct(d.tokens.change)} of ${formatTokens(d.tokens.average7)}/day)`,
      `Month to date: ${f.bold(formatUsd(d.month.toDate))} · forecast for the month ${f.bold(formatUsd(d.month.forecast))} (${d.month.method})`,
      `Cache reads: ${d.tokens.cacheReadShare === null ? 'no input tokens' : `${pct(d.tokens.cacheReadShare)!.toFixed(1)}% of input tokens`}`,
    ],
  });
  out.push({
    heading: 'Top workspaces (cost report)',
    lines: d.topWorkspaces.length
      ? d.topWorkspaces.map((w) => `${f.escape(w.name)}: ${formatUsd(w.nanos)}`)
      : ['No cost on this day.'],
  });
  out.push({
    heading: 'Top keys (estimate: tokens × list prices)',
    lines: d.topKeys.length
      ? d.topKeys.map(
          (k) =>
            `${f.escape(keyLabel(k))} (${f.escape(k.workspaceName)}): ${estimateText(k.estimateNanos)}, ${formatTokens(k.tokens)} tokens`,
        )
      : ['No usage on this day.'],
  });
  out.push({
    heading: 'Top models (estimate: tokens × list prices)',
    lines: d.topModels.length
      ? d.topModels.map(
          (m) => `${f.escape(m.model)}: ${estimateText(m.estimateNanos)}, ${formatTokens(m.tokens)} tokens`,
        )
      : ['No usage on this day.'],
  });
  const cc = d.claudeCode;
  out.push({
    heading: 'Claude Code',
    lines: cc.users.length
      ? [
          `${cc.sessions} sessions, +${cc.linesAdded}/−${cc.linesRemoved} lines, ~${formatUsd(cc.costNanos)} (estimate)`,
          ...cc.users
            .slice(0, TOP_N)
            .map(
              (u) =>
                `${f.escape(u.actor)}: ${u.sessions} sessions, +${u.linesAdded}/−${u.linesRemoved} lines, ~${formatUsd(u.costNanos)}`,
            ),
          ...(cc.users.length > TOP_N ? [`and ${cc.users.length - TOP_N} more`] : []),
        ]
      : ['No Claude Code activity.'],
  });
  out.push({
    heading: 'Keys and members added or changed',
    lines: (() => {
      const requests = d.changes.filter((c) => c.kind === 'request_done');
      const shown = audience === 'channel' ? d.changes.filter((c) => c.kind !== 'request_done') : d.changes;
      const lines = [
        ...shown.slice(0, 10).map((c) => `${f.escape(c.subject)}: ${f.escape(c.detail)}`),
        ...(shown.length > 10 ? [`and ${shown.length - 10} more`] : []),
      ];
      if (audience === 'channel' && requests.length) {
        lines.push(`${requests.length} request(s) carried out by Quartermaster: ${f.code('/qm requests list all')}`);
      }
      return lines.length ? lines : ['None.'];
    })(),
  });
  out.push({
    heading: 'Pending requests',
    lines: d.pending.count
      ? [
          `${d.pending.count} pending${audience === 'channel' ? `: ${f.code('/qm requests list pending')}` : ''}`,
          ...(audience === 'operator'
            ? d.pending.oldest.map((p) => `${f.code(p.id)} ${f.escape(p.summary)} (since ${isoDay(p.createdAt)})`)
            : []),
        ]
      : ['None.'],
  });
  if (d.anomalies.length) {
    out.push({
      heading: 'Runaway spend (estimate: tokens × list prices)',
      lines: [
        ...d.anomalies
          .slice(0, 10)
          .map(
            (a) =>
              `${a.subjectType} ${f.escape(a.name)}${a.subjectType === 'key' ? ` (${f.escape(a.workspaceName)})` : ''}: ~${formatUsd(a.costNanos)} in the ${a.window === 'hour' ? 'hour' : '24 hours'} from ${a.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC against a p95 of ~${formatUsd(a.baselineNanos)}${a.ended ? ' (over)' : ''}`,
          ),
        ...(d.anomalies.length > 10 ? [`and ${d.anomalies.length - 10} more`] : []),
      ],
    });
  }
  if (d.leaks.length) {
    out.push({
      heading: 'Leaked secrets (incidents first seen this day)',
      lines: [
        ...d.leaks
          .slice(0, 10)
          .map(
            (i) =>
              `${f.code(i.id)} ${f.code(i.hint)}${i.keyName ? ` key ${f.escape(i.keyName)}` : ' (no key of this organization)'}: ${i.status}, ${i.sightings} sighting${i.sightings === 1 ? '' : 's'}, first seen ${i.firstSeenAt.toISOString().slice(11, 16)} UTC`,
          ),
        ...(d.leaks.length > 10 ? [`and ${d.leaks.length - 10} more`] : []),
        ...(audience === 'channel' ? [`Details: ${f.code('/qm incidents list all')}`] : []),
      ],
    });
  }
  return out;
}

/** The organization's name is the API's text like any other name: escaped in markup, control-free in plain text. */
function title(d: Digest, f: Markup): string {
  return `Claude usage digest for ${isoDay(d.day)} (UTC)${d.organization ? ` · ${f.escape(d.organization)}` : ''}`;
}

/** Plain text (the CLI; a chat fallback): every section, no markup. */
export function digestText(d: Digest): string {
  const lines = [title(d, PLAIN), ''];
  for (const s of sections(d, PLAIN, 'operator')) {
    lines.push(`${s.heading}:`, ...s.lines.map((l) => `  ${l}`), '');
  }
  lines.push('Per-key and per-model amounts are estimates (tokens × list prices); totals come from the cost report.');
  return lines.join('\n');
}

/** The digest as a neutral Reply (posted in a channel). Names from users or the API are escaped. */
export function digestReply(d: Digest): Reply {
  const blocks: ReplyBlock[] = [];
  for (const s of sections(d, MARKUP, 'channel'))
    blocks.push({ type: 'text', text: `${md.bold(s.heading)}\n${s.lines.join('\n')}` });
  blocks.push({
    type: 'context',
    text: 'Per-key and per-model amounts are estimates (tokens × list prices); totals come from the cost report.',
  });
  return {
    ...reply({
      title: title(d, MARKUP),
      blocks,
      summary: `Claude usage ${isoDay(d.day)}: ${formatUsd(d.cost.day)}, month to date ${formatUsd(d.month.toDate)}`,
    }),
    visibility: 'in_channel',
  };
}

/** Cost per day over the 30 days ending with D, stacked by workspace: the top workspaces and "Other". */
export function digestChartInput(d: Digest): {
  title: string;
  days: string[];
  series: { name: string; usd: number[] }[];
} {
  const top = d.daily.workspaces.slice(0, CHART_WORKSPACES);
  const rest = d.daily.workspaces.slice(CHART_WORKSPACES);
  // Chart values are numbers of dollars, rounded to the cent from the exact amounts (display only).
  const toUsd = (n: Nanos) => Number(usdString(n));
  const series = top.map((w) => ({ name: w.name, usd: d.daily.perDay.get(w.id)!.map(toUsd) }));
  if (rest.length) {
    series.push({
      name: 'Other',
      usd: d.daily.days.map((_, i) => toUsd(rest.reduce((s, w) => s + d.daily.perDay.get(w.id)![i]!, 0n))),
    });
  }
  return {
    title: `Cost per day, ${isoDay(d.daily.days[0]!)} to ${isoDay(d.day)} (USD, cost report)`,
    days: d.daily.days.map(isoDay),
    series,
  };
}
