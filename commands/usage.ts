import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { md, reply } from '../src/core/command/reply.js';
import { canSeeKey, KEY_VIEWING_ROLES, seesAllKeys } from '../src/core/identity/visibility.js';
import type { UsageGroup, UsageScope } from '../src/core/ports/spend.js';
import { DAY_MS, formatTokens, isoDay, pricesOf, tokenSummary, workspaceName } from '../src/core/spend/digest.js';
import { formatUsd, type Nanos } from '../src/core/spend/money.js';
import { estimateNanos } from '../src/core/spend/prices.js';
import { when } from './format.js';

export const USAGE_PERIODS = ['today', 'yesterday', '7d', '30d', 'mtd'] as const;
export const USAGE_BY = ['workspace', 'key', 'model', 'member'] as const;
type Period = (typeof USAGE_PERIODS)[number];

/** Rows shown; the rest are summed into one "and N more" line (the total always covers everything shown). */
const MAX_ROWS = 15;

/** [from, to) in UTC for a period, and how it reads. "7d" and "30d" end with today (so far). */
export function periodWindow(period: Period, now: Date): { from: Date; to: Date; label: string } {
  const today = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
  const tomorrow = new Date(today.getTime() + DAY_MS);
  const days = (n: number) => new Date(today.getTime() - n * DAY_MS);
  switch (period) {
    case 'today':
      return { from: today, to: tomorrow, label: `today (${isoDay(today)}, UTC, so far)` };
    case 'yesterday':
      return { from: days(1), to: today, label: `yesterday (${isoDay(days(1))}, UTC)` };
    case '7d':
      return { from: days(6), to: tomorrow, label: `the last 7 days (${isoDay(days(6))} to ${isoDay(today)}, UTC)` };
    case '30d':
      return {
        from: days(29),
        to: tomorrow,
        label: `the last 30 days (${isoDay(days(29))} to ${isoDay(today)}, UTC)`,
      };
    case 'mtd': {
      const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
      return { from: start, to: tomorrow, label: `month to date (${isoDay(start)} to ${isoDay(today)}, UTC)` };
    }
  }
}

interface Row {
  label: string;
  tokens: bigint;
  /** Exact (cost report) or estimated money; null when there is no price. */
  nanos: Nanos | null;
  estimate: boolean;
}

const money = (r: Pick<Row, 'nanos' | 'estimate'>) =>
  r.nanos === null ? 'no price' : r.estimate ? `~${formatUsd(r.nanos)} (estimate)` : formatUsd(r.nanos);

export default defineCommand({
  path: ['usage'],
  description: 'Claude API usage and cost for a period, by workspace, key, model or member',
  access: 'keys:read',
  readOnly: true,
  options: z.object({
    period: z.enum(USAGE_PERIODS).optional().describe('today, yesterday, 7d, 30d or mtd (month to date); default 7d'),
    by: z.enum(USAGE_BY).optional().describe('Group by workspace, key, model or member (key owner); default workspace'),
  }),
  positional: ['period', 'by'],
  examples: ['usage', 'usage yesterday key', 'usage period:mtd by:model'],
  async handler({ options, caller, services }) {
    const period = options.period ?? '7d';
    const by = options.by ?? 'workspace';
    const now = services.clock.now();
    const w = periodWindow(period, now);
    const q = services.store.spendQueries;
    const prices = pricesOf(services);
    const directory = await services.directory.forList();
    const workspaces = new Map(directory.listWorkspaces().map((x) => [x.id, x]));
    const keys = new Map(directory.listApiKeys().map((k) => [k.id, k]));

    // Visibility exactly as `keys list`: billing and admins everything; others the workspaces where they are a
    // developer or admin (all of their usage) and the keys they created elsewhere (those keys' usage only).
    const all = seesAllKeys(caller);
    let scope: UsageScope | undefined;
    if (!all) {
      const wsIds = [
        ...new Set(caller.memberships.filter((m) => KEY_VIEWING_ROLES.has(m.workspaceRole)).map((m) => m.workspaceId)),
      ];
      const own = directory
        .listApiKeys()
        .filter((k) => canSeeKey(caller, k) && !(k.workspaceId && wsIds.includes(k.workspaceId)))
        .map((k) => k.id);
      scope = { workspaceIds: wsIds, apiKeyIds: own };
    }
    const fullWorkspaces = scope ? new Set(scope.workspaceIds) : null;

    const estimateOf = (groups: UsageGroup[]) => {
      let nanos: Nanos | null = null;
      let tokens = 0n;
      for (const g of groups) {
        tokens += tokenSummary(g).total;
        const e = estimateNanos(g, g.model!, g.serviceTier!, prices);
        if (e !== null) nanos = (nanos ?? 0n) + e;
      }
      return { nanos, tokens };
    };
    const groupBy = <K extends string>(groups: UsageGroup[], keyOf: (g: UsageGroup) => K) => {
      const m = new Map<K, UsageGroup[]>();
      for (const g of groups) {
        const k = keyOf(g);
        const list = m.get(k);
        if (list) list.push(g);
        else m.set(k, [g]);
      }
      return m;
    };

    let rows: Row[] = [];
    const notes: string[] = [];
    if (by === 'workspace') {
      const [costs, usage] = await Promise.all([
        q.costByWorkspace(w.from, w.to, fullWorkspaces ? { workspaceIds: [...fullWorkspaces] } : {}),
        q.tokens(w.from, w.to, ['workspaceId', 'model', 'serviceTier'], scope),
      ]);
      const perWs = groupBy(usage, (g) => g.workspaceId ?? '');
      const costOf = new Map(costs.map((c) => [c.workspaceId, c.nanos]));
      const ids = new Set([...costOf.keys(), ...perWs.keys()]);
      for (const id of ids) {
        const est = estimateOf(perWs.get(id) ?? []);
        const exact = !fullWorkspaces || fullWorkspaces.has(id);
        rows.push({
          label: `${md.escape(workspaceName(id, workspaces))}${exact ? '' : ' (only your keys)'}`,
          tokens: est.tokens,
          nanos: exact ? (costOf.get(id) ?? 0n) : est.nanos,
          estimate: !exact,
        });
      }
      notes.push('Workspace amounts are from the cost report; amounts marked estimate are tokens × list prices.');
    } else {
      const dims =
        by === 'model' ? (['model', 'serviceTier'] as const) : (['apiKeyId', 'model', 'serviceTier'] as const);
      const usage = await q.tokens(w.from, w.to, dims, scope);
      const labelOf = (g: UsageGroup): string => {
        if (by === 'model') return md.escape(g.model ?? '');
        const key = keys.get(g.apiKeyId ?? '');
        if (by === 'key') {
          if (!g.apiKeyId) return 'Console (no key)';
          return key
            ? `${md.escape(key.name)} (${md.escape(workspaceName(key.workspaceId ?? '', workspaces))})`
            : md.code(g.apiKeyId);
        }
        if (!key?.createdBy) return g.apiKeyId ? 'unknown owner' : 'Console (no key)';
        if (key.createdBy.type !== 'user') return md.escape(`${key.createdBy.type} ${key.createdBy.id}`);
        return md.escape(directory.user(key.createdBy.id)?.email ?? key.createdBy.id);
      };
      // Keys are grouped by id, not by how they read: two keys may share a name (and a workspace).
      const groupKey = (g: UsageGroup) => (by === 'key' ? `id:${g.apiKeyId ?? ''}` : `label:${labelOf(g)}`);
      for (const groups of groupBy(usage, groupKey).values()) {
        rows.push({ label: labelOf(groups[0]!), ...estimateOf(groups), estimate: true });
      }
      notes.push(
        `Amounts are estimates (tokens × list prices)${by === 'member' ? '; a key counts for the member who created it' : ''}.`,
      );
    }

    rows = rows
      .filter((r) => r.tokens !== 0n || (r.nanos ?? 0n) !== 0n)
      .sort((a, b) => {
        const x = a.nanos ?? -1n;
        const y = b.nanos ?? -1n;
        if (x !== y) return x > y ? -1 : 1;
        return a.tokens === b.tokens ? a.label.localeCompare(b.label) : a.tokens > b.tokens ? -1 : 1;
      });
    const shown = rows.slice(0, MAX_ROWS);
    const rest = rows.slice(MAX_ROWS);
    const lines = shown.map((r) => `${md.bold(r.label)}: ${money(r)} · ${formatTokens(r.tokens)} tokens`);
    if (rest.length) {
      const restNanos = rest.reduce((s, r) => s + (r.nanos ?? 0n), 0n);
      const restTokens = rest.reduce((s, r) => s + r.tokens, 0n);
      lines.push(
        `and ${rest.length} more: ${money({ nanos: restNanos, estimate: rest.some((r) => r.estimate) })} · ${formatTokens(restTokens)} tokens`,
      );
    }

    // Totals of only what is listed: an org total (cost report) for those who see everything.
    const tokens = rows.reduce((s, r) => s + r.tokens, 0n);
    const exact = rows.filter((r) => !r.estimate).reduce((s, r) => s + (r.nanos ?? 0n), 0n);
    const estimated = rows.filter((r) => r.estimate).reduce((s, r) => s + (r.nanos ?? 0n), 0n);
    let total: string;
    if (all) {
      const org = (await q.costByDay(w.from, w.to)).reduce((s, d) => s + d.nanos, 0n);
      total = `Organization total (cost report): ${md.bold(formatUsd(org))} · ${formatTokens(tokens)} tokens`;
    } else if (by === 'workspace') {
      total = `Total of what you can see: ${md.bold(formatUsd(exact))}${estimated ? ` + ~${formatUsd(estimated)} (estimate)` : ''} · ${formatTokens(tokens)} tokens`;
    } else {
      total = `Total of what you can see: ${md.bold(`~${formatUsd(estimated)}`)} (estimate) · ${formatTokens(tokens)} tokens`;
    }
    if (!all)
      notes.push('Only your workspaces (where you are a developer or admin) and the keys you created are counted.');

    const latest = await q.latestUsageHour();
    notes.push(latest ? `Usage ingested through the hour of ${when(latest)}.` : 'No usage has been ingested yet.');

    return reply({
      title: `Usage by ${by}, ${w.label}`,
      blocks: [
        { type: 'text', text: lines.length ? lines.join('\n') : 'No usage in this period.' },
        { type: 'text', text: total },
        { type: 'context', text: notes.join(' ') },
      ],
      summary: `Usage by ${by}, ${period}: ${rows.length} ${by === 'workspace' ? 'workspaces' : `${by}s`}`,
    });
  },
});
