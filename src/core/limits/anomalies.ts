/**
 * Runaway spend (job `spend.anomalies`, and after each usage sync): a key or workspace whose estimated cost in the
 * last hour, or in the last 24 hours, departs sharply from its own baseline.
 *
 * The rule (policy `spend.anomalies`, Policy.anomalyRules):
 *  - "last hour" is the newest ingested usage hour (spendQueries.latestUsageHour: the current hour, as far as the
 *    report has it); "last day" is the 24 hours ending with it;
 *  - cost is usage × prices (estimateNanos with the policy's price table): an ESTIMATE, labelled so on the card;
 *  - a subject is anomalous in a window when its cost there is at least the dollar floor (minHourNanos,
 *    minDayNanos) AND above `factor` × the p95 (nearest rank) of its own cost in the same kind of window over the
 *    `baselineDays` before: hourly costs of the baselineDays × 24 hours before the last hour, and daily costs of
 *    the baselineDays 24-hour windows before the last day, aligned to it. Hours without usage count as 0. Hours
 *    before the ingested range (spend.syncedFrom) are unknown, not 0: they are left out, and a window is not judged
 *    with less than a day (hour window) or two days (day window) of baseline.
 *
 * Efficiency (a 10,000-key organization): grouped sums give every key's and workspace's last-hour and last-day
 * cost (the last day's read by chunks of workspaces); only the subjects at or above a floor (the candidates) get
 * their baseline series, in grouped-by-hour queries per chunk of candidates (the store slices them by time). No
 * usage row is ever loaded. Between statements, and every PRICE_CHUNK groups priced, the event loop gets a turn:
 * the job runs in the bot's process, and chat commands keep being answered while it does.
 *
 * One alert per episode: a subject with an open episode (store.limits.openAnomaly) is touched, not alerted again.
 * Otherwise createAnomaly opens one: it is unique on (subject, startedAt), so of concurrent runs (two replicas)
 * exactly one gets the row, and only that one posts the alert. A run that finds the subject normal again ends its
 * episode; the next anomaly then opens (and alerts) a new one.
 *
 * Where the alert goes (the first of these that names any channel, for the platforms that are connected):
 *  1. the policy's `spend.channels` (per platform);
 *  2. else the channels of the `key.disable` policy for the subject's workspace (where Disable key requests go);
 *  3. else every channel of an existing budget (store.limits.listBudgets) and digest subscription
 *     (store.digests.list), once each.
 * Team: budgets and subscriptions carry the team they were made in. A policy channel has none: it is posted with
 * the team of the first budget or digest subscription on that platform, else with '' (a Slack single-workspace
 * install, SLACK_BOT_TOKEN, posts with its one bot token and ignores the team; Discord channel ids are global and
 * the guild is ignored too). With Slack OAuth installs for several workspaces and neither a budget nor a
 * subscription on Slack, a policy channel cannot be resolved to a workspace and that post fails (logged).
 *
 * The card names the key (name, hint), its workspace and owner (the key's creator), the numbers, a pointer to
 * `/qm usage today key`, and for an active key a **Disable key** button (action `spend.disable-key`): an approver's
 * click files an approved `key.disable` request through ApprovalEngine.respond (the clicker checked live against
 * the kind's approvers, anyone else refused); the existing key.disable executor sets the key inactive.
 */

import { postToTargets } from '../alerts.js';
import { ApprovalEngine } from '../approvals/engine.js';
import type { ActionDefinition } from '../command/actions.js';
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import type { DirectoryModel } from '../directory-model.js';
import type { CardRef, SpendAnomaly } from '../ports/limits.js';
import type { UsageDimension, UsageGroup, UsageScope } from '../ports/spend.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import { formatUsd, type Nanos } from '../spend/money.js';
import { estimateNanos, type PriceTable } from '../spend/prices.js';
import { nextTurn } from '../turn.js';

export const DISABLE_KEY_ACTION = 'spend.disable-key';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Candidates per baseline query (keeps the IN list far below either database's bound-parameter limit). */
const CHUNK = 500;
/** How far back open episodes are looked for (an episode lasts while its subject stays anomalous: hours, days). */
const OPEN_LOOKBACK_MS = 366 * DAY_MS;

/** Groups of the last day read per statement, about (estimated from the last hour's). */
const DAY_CHUNK_GROUPS = 200;
/** Groups priced between two turns of the event loop (a price lookup per group: about 10 µs each). */
const PRICE_CHUNK = 500;

export interface AnomalyRunSummary {
  /** Subjects at or above a floor (their baselines were read). */
  candidates: number;
  /** Subjects anomalous in this run. */
  anomalous: number;
  /** Episodes opened and alerted by this run. */
  alerted: number;
  /** Episodes ended by this run. */
  ended: number;
  /** Alert posts that failed. */
  failed: number;
}

export function formatAnomalySummary(r: AnomalyRunSummary): string {
  return `${r.candidates} checked, ${r.anomalous} anomalous, ${r.alerted} alerted, ${r.ended} ended${r.failed ? `, ${r.failed} failed` : ''}`;
}

type SubjectType = SpendAnomaly['subjectType'];

interface Subject {
  type: SubjectType;
  id: string;
  /** For keys: the workspace the usage rows name ('' = Default). */
  workspaceId: string;
  hourNanos: Nanos;
  dayNanos: Nanos;
}

/** What a run found about one anomalous subject (the numbers on its card). */
export interface AnomalyFinding {
  type: SubjectType;
  id: string;
  workspaceId: string;
  window: 'hour' | 'day';
  lastHour: Date;
  hourNanos: Nanos;
  dayNanos: Nanos;
  p95HourNanos: Nanos;
  p95DayNanos: Nanos;
  factor: number;
  minHourNanos: Nanos;
  minDayNanos: Nanos;
  baselineDays: number;
}

const groupCost = (g: UsageGroup, prices: PriceTable): Nanos =>
  estimateNanos(g, g.model ?? '', g.serviceTier ?? '', prices) ?? 0n;

/** Nearest-rank p95 of a series (0 for an empty one). */
export function p95(values: readonly Nanos[]): Nanos {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.ceil(0.95 * sorted.length) - 1]!;
}

/** cost > factor × baseline, on integers (the factor to a thousandth). */
const above = (cost: Nanos, factor: number, baseline: Nanos) =>
  cost * 1000n > BigInt(Math.round(factor * 1000)) * baseline;

/** Finds the anomalous keys and workspaces as of the newest ingested usage hour. */
export async function findAnomalies(s: Services): Promise<{ findings: AnomalyFinding[]; candidates: number }> {
  const q = s.store.spendQueries;
  const latest = await q.latestUsageHour();
  if (!latest) return { findings: [], candidates: 0 };
  const rules = s.policy.anomalyRules;
  const prices = s.policy.prices;
  const last = latest.getTime();
  const end = new Date(last + HOUR_MS);
  const dayStart = last - 23 * HOUR_MS;

  // ---- 1. the last hour and the last day of every key and workspace (grouped sums)
  const by: UsageDimension[] = ['apiKeyId', 'workspaceId', 'model', 'serviceTier'];
  // One after the other, not together: on SQLite each statement (and the making of its groups) holds the event loop,
  // and two started together would run back to back without a turn between them.
  const hourGroups = await q.tokens(latest, end, by);
  // The last day is read by chunks of workspaces (every usage row has one workspace, so the chunks' groups are
  // exactly the day's groups): a large organization's day is a thousand groups and more, too many for one statement.
  // A chunk holds workspaces worth about DAY_CHUNK_GROUPS groups, judged from their groups in the last hour.
  const hourGroupsOf = new Map<string, number>();
  for (const g of hourGroups) hourGroupsOf.set(g.workspaceId ?? '', (hourGroupsOf.get(g.workspaceId ?? '') ?? 0) + 1);
  const dayWorkspaces = (await q.tokens(new Date(dayStart), end, ['workspaceId'])).map((g) => g.workspaceId ?? '');
  const dayGroups: UsageGroup[] = [];
  for (let i = 0; i < dayWorkspaces.length; ) {
    const chunk: string[] = [];
    let size = 0;
    while (i < dayWorkspaces.length && (chunk.length === 0 || size < DAY_CHUNK_GROUPS)) {
      const ws = dayWorkspaces[i++]!;
      chunk.push(ws);
      size += 2 * Math.max(1, hourGroupsOf.get(ws) ?? 0);
    }
    await nextTurn();
    for (const g of await q.tokens(new Date(dayStart), end, by, { workspaceIds: chunk, apiKeyIds: [] })) {
      dayGroups.push(g);
    }
  }
  const subjects = new Map<string, Subject>();
  const subject = (type: SubjectType, id: string, workspaceId: string) => {
    const k = `${type}:${id}`;
    let x = subjects.get(k);
    if (!x) {
      x = { type, id, workspaceId, hourNanos: 0n, dayNanos: 0n };
      subjects.set(k, x);
    }
    return x;
  };
  for (const [groups, field] of [
    [hourGroups, 'hourNanos'],
    [dayGroups, 'dayNanos'],
  ] as const) {
    for (let j = 0; j < groups.length; j++) {
      if (j % PRICE_CHUNK === 0) await nextTurn();
      const g = groups[j]!;
      const cost = groupCost(g, prices);
      const ws = g.workspaceId ?? '';
      // Usage without a key (Console) belongs to its workspace only: there is no key to name or disable.
      if (g.apiKeyId) subject('key', g.apiKeyId, ws)[field] += cost;
      subject('workspace', ws, ws)[field] += cost;
    }
  }

  // ---- 2. the candidates: at or above a floor
  const candidates = [...subjects.values()].filter(
    (x) => x.hourNanos >= rules.minHourNanos || x.dayNanos >= rules.minDayNanos,
  );
  if (candidates.length === 0) return { findings: [], candidates: 0 };

  // ---- 3. their baselines: hourly cost over [dayStart − baselineDays, last), hours before the ingested range left out
  const syncedFrom = await s.store.spend.syncedFrom('usage');
  const baseFrom = dayStart - rules.baselineDays * DAY_MS;
  const knownFrom = Math.max(baseFrom, syncedFrom ? Math.ceil(syncedFrom.getTime() / HOUR_MS) * HOUR_MS : baseFrom);
  const series = new Map<string, Map<number, Nanos>>();
  const add = (k: string, hour: number, cost: Nanos) => {
    let m = series.get(k);
    if (!m) {
      m = new Map();
      series.set(k, m);
    }
    m.set(hour, (m.get(hour) ?? 0n) + cost);
  };
  for (const type of ['key', 'workspace'] as const) {
    const ids = candidates.filter((x) => x.type === type).map((x) => x.id);
    const dim: UsageDimension = type === 'key' ? 'apiKeyId' : 'workspaceId';
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const scope: UsageScope =
        type === 'key' ? { workspaceIds: [], apiKeyIds: chunk } : { workspaceIds: chunk, apiKeyIds: [] };
      const rows = await q.tokensByHour(new Date(knownFrom), latest, [dim, 'model', 'serviceTier'], scope);
      for (let j = 0; j < rows.length; j++) {
        // Tens of thousands of groups for a large organization: the event loop gets turns while they are priced.
        if (j > 0 && j % PRICE_CHUNK === 0) await nextTurn();
        const r = rows[j]!;
        add(`${type}:${r[dim] ?? ''}`, r.hour.getTime(), groupCost(r, prices));
      }
    }
  }

  // ---- 4. judge each candidate against its own baseline
  const hourStarts: number[] = [];
  for (let h = Math.max(last - rules.baselineDays * DAY_MS, knownFrom); h < last; h += HOUR_MS) hourStarts.push(h);
  const dayStarts: number[] = [];
  for (let k = 1; k <= rules.baselineDays; k++) {
    const d = dayStart - k * DAY_MS;
    if (d >= knownFrom) dayStarts.push(d);
  }
  const findings: AnomalyFinding[] = [];
  for (const x of candidates) {
    const m = series.get(`${x.type}:${x.id}`) ?? new Map<number, Nanos>();
    const hours = hourStarts.map((h) => m.get(h) ?? 0n);
    const days = dayStarts.map((d) => {
      let sum = 0n;
      for (let h = d; h < d + DAY_MS; h += HOUR_MS) sum += m.get(h) ?? 0n;
      return sum;
    });
    const p95Hour = p95(hours);
    const p95Day = p95(days);
    const hourly = hours.length >= 24 && x.hourNanos >= rules.minHourNanos && above(x.hourNanos, rules.factor, p95Hour);
    const daily = days.length >= 2 && x.dayNanos >= rules.minDayNanos && above(x.dayNanos, rules.factor, p95Day);
    if (!hourly && !daily) continue;
    findings.push({
      type: x.type,
      id: x.id,
      workspaceId: x.workspaceId,
      window: hourly ? 'hour' : 'day',
      lastHour: latest,
      hourNanos: x.hourNanos,
      dayNanos: x.dayNanos,
      p95HourNanos: p95Hour,
      p95DayNanos: p95Day,
      factor: rules.factor,
      minHourNanos: rules.minHourNanos,
      minDayNanos: rules.minDayNanos,
      baselineDays: rules.baselineDays,
    });
  }
  return { findings, candidates: candidates.length };
}

/** The job: finds the anomalies, opens and alerts new episodes (once each), touches open ones, ends finished ones. */
export async function checkAnomalies(s: Services): Promise<AnomalyRunSummary> {
  const log = s.logger.child({ job: 'spend.anomalies' });
  const { findings, candidates } = await findAnomalies(s);
  const out: AnomalyRunSummary = { candidates, anomalous: findings.length, alerted: 0, ended: 0, failed: 0 };
  const limits = s.store.limits;
  let directory: DirectoryModel | null = null;
  const dir = async () => {
    directory ??= await s.directory.forList();
    return directory;
  };
  const anomalous = new Set<string>();
  for (const f of findings) {
    anomalous.add(`${f.type}:${f.id}`);
    const lastSeen = f.lastHour;
    const cost = f.window === 'hour' ? f.hourNanos : f.dayNanos;
    const open = await limits.openAnomaly(f.type, f.id);
    if (open) {
      await limits.touchAnomaly(open.id, lastSeen, cost);
      continue;
    }
    const created = await limits.createAnomaly({
      subjectType: f.type,
      subjectId: f.id,
      window: f.window,
      startedAt: f.window === 'hour' ? f.lastHour : new Date(f.lastHour.getTime() - 23 * HOUR_MS),
      lastSeenAt: lastSeen,
      costNanos: cost,
      baselineNanos: f.window === 'hour' ? f.p95HourNanos : f.p95DayNanos,
    });
    // Another run (a replica) opened this episode at the same time: it posts the alert.
    if (!created) continue;
    out.alerted++;
    const d = await dir();
    const card = await alertCard(s, created, f, d);
    const targets = await alertTargets(s, workspaceNameOf(f.workspaceId, d));
    if (targets.length === 0) {
      log.warn(
        { subject: `${f.type}:${f.id}`, anomaly: created.id },
        'runaway spend found, but no channel to alert: set spend.channels in the policy (or a key.disable channel, a budget or a digest subscription)',
      );
      out.alerted--;
      await limits.dropAnomaly(created.id);
      continue;
    }
    const posted = await postToTargets(s, targets, card, log.child({ anomaly: created.id }), 'a runaway-spend alert');
    out.failed += posted.failed;
    const stored = posted.first !== null;
    if (posted.first) await limits.setAnomalyCard(created.id, posted.first);
    if (!stored) {
      // No channel took it: nothing is lost, the next run opens the episode again and alerts it.
      out.alerted--;
      await limits.dropAnomaly(created.id);
      continue;
    }
    log.info({ anomaly: created.id, subject: `${f.type}:${f.id}`, window: f.window }, 'runaway spend alerted');
  }
  // Episodes whose subject is normal again end here.
  const now = s.clock.now();
  const open = await limits.anomaliesBetween(
    new Date(now.getTime() - OPEN_LOOKBACK_MS),
    new Date(Math.max(now.getTime(), findings[0]?.lastHour.getTime() ?? 0) + DAY_MS),
  );
  for (const a of open) {
    if (a.endedAt || anomalous.has(`${a.subjectType}:${a.subjectId}`)) continue;
    await limits.endAnomaly(a.id, now);
    out.ended++;
    log.info({ anomaly: a.id, subject: `${a.subjectType}:${a.subjectId}` }, 'runaway spend episode ended');
  }
  return out;
}

// ---- where alerts go

interface Target {
  platform: Platform;
  teamId: string;
  channelId: string;
}

async function alertTargets(s: Services, workspaceName: string | null): Promise<Target[]> {
  const connected = (['slack', 'discord', 'playground'] as const).filter((p) => s.notifiers[p]);
  const [budgets, subscriptions] = await Promise.all([s.store.limits.listBudgets(), s.store.digests.list()]);
  const known = [...budgets, ...subscriptions].map((x) => ({
    platform: x.platform,
    teamId: x.teamId,
    channelId: x.channelId,
  }));
  // A policy channel has no team: that of a budget or subscription on the platform, else '' (see the top).
  const teamOf = (p: Platform) => known.find((x) => x.platform === p)?.teamId ?? '';
  const fromPolicy = (channels: { slack?: string; discord?: string }) =>
    connected.flatMap((p) =>
      p !== 'playground' && channels[p] ? [{ platform: p, teamId: teamOf(p), channelId: channels[p]! }] : [],
    );
  const spend = fromPolicy(s.policy.spendChannels);
  if (spend.length) return spend;
  const disable = fromPolicy(s.policy.resolve('key.disable', workspaceName).channels);
  if (disable.length) return disable;
  const seen = new Set<string>();
  return known.filter((x) => {
    const k = `${x.platform}:${x.teamId}:${x.channelId}`;
    if (!connected.includes(x.platform) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- the card

function workspaceNameOf(id: string, d: DirectoryModel): string {
  return id === '' ? 'Default' : (d.workspace(id)?.name ?? id);
}

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const est = (n: Nanos) => `~${formatUsd(n)}`;

function times(cost: Nanos, baseline: Nanos): string {
  if (baseline === 0n) return 'with no spend in its baseline';
  const x = Number((cost * 10n) / baseline) / 10;
  return `${x.toFixed(1)}× its baseline`;
}

interface Names {
  /** Escaped markup naming the subject: key name and hint, or workspace. */
  subject: string;
  /** Escaped. */
  workspace: string;
  /** Escaped; null for workspaces. */
  owner: string | null;
  keyName: string | null;
  keyActive: boolean;
}

function names(type: SubjectType, id: string, workspaceId: string, d: DirectoryModel): Names {
  if (type === 'workspace') {
    const name = workspaceNameOf(id, d);
    return {
      subject: `workspace ${md.bold(name)}`,
      workspace: md.escape(name),
      owner: null,
      keyName: null,
      keyActive: false,
    };
  }
  const key = d.apiKey(id);
  const wsId = key ? (key.workspaceId ?? '') : workspaceId;
  const creator = key?.createdBy;
  const owner = !creator
    ? 'unknown'
    : creator.type === 'user'
      ? (d.user(creator.id)?.email ?? creator.id)
      : `${creator.type} ${creator.id}`;
  return {
    subject: `key ${md.bold(key?.name ?? id)} ${md.code(key?.partialKeyHint ?? id)}`,
    workspace: md.escape(workspaceNameOf(wsId, d)),
    owner: md.escape(owner),
    keyName: key?.name ?? null,
    keyActive: key?.status === 'active',
  };
}

/**
 * What the alert says in one line (escaped markup), from the stored episode: the card's headline, and the `alert`
 * shown at the top of the Disable key request's card.
 */
function headline(a: SpendAnomaly, n: Names): string {
  const span =
    a.window === 'hour'
      ? `the hour from ${when(a.startedAt)}`
      : `the 24 hours from ${when(a.startedAt)} to ${when(new Date(a.startedAt.getTime() + 24 * HOUR_MS))}`;
  return (
    `🚨 Runaway spend: ${n.subject} in workspace **${n.workspace}**` + // n.workspace is escaped already (md.bold would escape it twice)
    `${n.owner === null ? '' : ` (owner ${n.owner})`}: estimated cost ${md.bold(est(a.costNanos))} in ${span}, ` +
    `${times(a.costNanos, a.baselineNanos)} (p95 ${est(a.baselineNanos)}).`
  );
}

async function alertCard(s: Services, a: SpendAnomaly, f: AnomalyFinding, d: DirectoryModel): Promise<Reply> {
  const n = names(f.type, f.id, f.workspaceId, d);
  const blocks: ReplyBlock[] = [
    { type: 'text', text: headline(a, n) },
    {
      type: 'fields',
      fields: [
        ...(n.owner === null ? [] : [{ label: 'Owner', value: n.owner }]),
        { label: 'Workspace', value: n.workspace },
        { label: `Last hour (${when(f.lastHour)}), estimate`, value: est(f.hourNanos) },
        { label: 'Last 24 hours, estimate', value: est(f.dayNanos) },
        { label: `Baseline p95 per hour (${f.baselineDays} days), estimate`, value: est(f.p95HourNanos) },
        { label: `Baseline p95 per day (${f.baselineDays} days), estimate`, value: est(f.p95DayNanos) },
        {
          label: 'Rule',
          value: `above ${f.factor}× the baseline p95 and at least ${formatUsd(f.minHourNanos)} an hour or ${formatUsd(f.minDayNanos)} a day`,
        },
      ],
    },
    {
      type: 'context',
      text: `Estimates: usage × list prices (the cost report has no key dimension). Details: ${md.code(`/qm usage today ${f.type === 'key' ? 'key' : 'workspace'}`)}. One alert per episode: this one is not repeated while it lasts.`,
    },
  ];
  if (f.type === 'key' && n.keyActive) {
    const id = await s.store.actionTokens.create({ kind: DISABLE_KEY_ACTION, subjectId: a.id, choice: 'disable' });
    blocks.push({ type: 'actions', buttons: [{ id, label: 'Disable key', style: 'danger' }] });
  }
  return reply({
    visibility: 'in_channel',
    tone: 'warning',
    title: `Runaway spend: ${f.type === 'key' ? `key ${md.escape(n.keyName ?? f.id)}` : `workspace ${n.workspace}`}`,
    blocks,
    summary: `Runaway spend: ${f.type} ${f.type === 'key' ? (n.keyName ?? f.id) : workspaceNameOf(f.id, d)}, ~${formatUsd(f.window === 'hour' ? f.hourNanos : f.dayNanos)} in the last ${f.window} (estimate)`,
  });
}

// ---- the Disable key button

const notice = (text: string) => reply({ tone: 'warning', text });

export const disableKeyAction: ActionDefinition = {
  kind: DISABLE_KEY_ACTION,
  async handler(ctx) {
    const s = ctx.services;
    const engine = s.approvals;
    if (!(engine instanceof ApprovalEngine)) throw new Error('Disable key needs the ApprovalEngine');
    const a = await s.store.limits.getAnomaly(ctx.subjectId);
    if (a?.subjectType !== 'key') {
      const text = 'This alert is no longer known to Quartermaster.';
      return { outcome: 'failed', errorCode: 'NOT_FOUND', message: text, notice: notice(text) };
    }
    const d = await s.directory.read();
    const key = d.apiKey(a.subjectId);
    const workspace = key?.workspaceId ? d.workspace(key.workspaceId) : null;
    const n = names('key', a.subjectId, key?.workspaceId ?? '', d);
    const card: CardRef | null = a.card && a.card.platform === ctx.platform ? a.card : null;
    return engine.respond(ctx, {
      kind: 'key.disable',
      workspace,
      payload: { keyId: a.subjectId, alert: headline(a, n) },
      reason: 'runaway spend',
      summary: `Disable key ${key?.name ?? a.subjectId}`,
      card: card ? { channelId: card.channelId, messageId: card.messageId } : null,
    });
  },
};
