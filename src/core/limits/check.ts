/**
 * The job `limits.check` (every 30 minutes, and right after each usage and cost sync): every budget's spend in
 * its current period against its thresholds. Each threshold alerts exactly once per budget, period and threshold,
 * across runs and replicas (the claim on the unique alert row is won by one caller, who posts); a threshold whose
 * spend falls back under (a revised report) gets a "back under" notice; when the period resets, one "new period"
 * notice per budget. An enforced budget crossing 100 % sets the keys in scope inactive (enforcement.ts), and
 * `reenable: next_period` budgets get those keys back at the reset.
 */
import { md, type Reply, type ReplyBlock, reply } from '../command/reply.js';
import type { ApiKey } from '../ports/admin-api.js';
import type { Budget, BudgetAlert, BudgetEnforcement } from '../ports/limits.js';
import type { ChatNotifier } from '../ports/runtime.js';
import type { Services } from '../services.js';
import { formatUsd } from '../spend/money.js';
import {
  budgetTarget,
  budgetTargetPlain,
  countKeys,
  describeRestore,
  type EnforcementOutcome,
  enforceBudget,
  enforcementBlocks,
  holdEnforcement,
  LIMITS_REENABLE,
  restoreKeys,
} from './enforcement.js';
import { type BudgetSpend, budgetSpend } from './spend.js';

export interface LimitsCheckSummary {
  budgets: number;
  /** Threshold crossings claimed (and alerted) by this run. */
  crossings: number;
  backUnder: number;
  resets: number;
  enforced: number;
  reenabled: number;
  /** Budgets whose check failed (logged; the next run tries again). */
  failed: number;
}

const PERIOD_WORD: Record<Budget['period'], string> = { day: 'daily', week: 'weekly', month: 'monthly' };

export async function checkLimits(s: Services): Promise<LimitsCheckSummary> {
  const sum: LimitsCheckSummary = {
    budgets: 0,
    crossings: 0,
    backUnder: 0,
    resets: 0,
    enforced: 0,
    reenabled: 0,
    failed: 0,
  };
  for (const budget of await s.store.limits.listBudgets()) {
    sum.budgets++;
    try {
      await checkBudget(s, budget, sum);
    } catch (err) {
      sum.failed++;
      s.logger.error({ err, budget: budget.id }, 'limits check failed for a budget');
    }
  }
  return sum;
}

export function formatLimitsSummary(x: LimitsCheckSummary): string {
  const parts = [`${x.budgets} budgets`, `${x.crossings} alerts`, `${x.backUnder} back under`, `${x.resets} resets`];
  if (x.enforced) parts.push(`${x.enforced} enforced`);
  if (x.reenabled) parts.push(`${x.reenabled} re-enabled`);
  if (x.failed) parts.push(`${x.failed} failed`);
  return parts.join(', ');
}

/** For the sync jobs: the check right after a successful sync, never failing the sync's own result. */
export async function checkLimitsAfterSync(s: Services): Promise<string> {
  try {
    const x = await checkLimits(s);
    return x.budgets ? `; limits: ${formatLimitsSummary(x)}` : '';
  } catch (err) {
    s.logger.error({ err }, 'limits check after sync failed');
    return `; limits check failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function checkBudget(s: Services, budget: Budget, sum: LimitsCheckSummary): Promise<void> {
  const notifier = s.notifiers[budget.platform];
  if (!notifier) {
    // Nothing is claimed: the alerts go out once the platform is connected.
    s.logger.warn(
      { budget: budget.id, platform: budget.platform },
      'limits check: the budget platform is not connected',
    );
    return;
  }
  const now = s.clock.now();
  const spend = await budgetSpend(s, budget, now);
  const period = spend.period.key;
  const rows = await s.store.limits.alerts(budget.id);

  // ---- the period reset: rows still over from a past period
  const pastOver = rows.filter((r) => r.period !== period && r.state === 'over');
  if (pastOver.length) await resetPastPeriods(s, notifier, budget, pastOver, spend, sum);
  if (budget.reenable === 'next_period') await reenablePastPeriods(s, notifier, budget, period, sum);

  // ---- crossings
  const crossed: number[] = [];
  for (const t of budget.thresholds) {
    if (spend.percent < t) continue;
    if (await s.store.limits.claimCrossing(budget.id, period, t, spend.nanos, now)) crossed.push(t);
  }
  sum.crossings += crossed.length;
  let enforcement: EnforcementOutcome | null = null;
  if (budget.enforce && spend.percent >= 100) {
    const existing = await s.store.limits.enforcementFor(budget.id, period);
    if (!existing) {
      enforcement = await enforceBudget(s, budget, period, now);
      if (enforcement) sum.enforced++;
    } else if (!existing.reenabledAt) {
      // Until someone re-enables, the period's enforcement holds: keys still (or newly) active in scope go too.
      const held = await holdEnforcement(s, budget, existing);
      if (held.disabled.length && held.enforcement.card) {
        sum.enforced++;
        const outcome = await outcomeOf(s, budget, held.enforcement, held.failed);
        await notifier
          .update(budget.teamId, held.enforcement.card, alertCard(budget, spend, [], outcome))
          .catch((err) => s.logger.warn({ err, budget: budget.id }, 'could not update the budget alert card'));
      }
    }
  }
  // An enforcement whose card never got out (its post failed, or its replica died before posting) would leave the
  // keys inactive with no Re-enable button: post it again once its creator has clearly had its chance.
  if (!enforcement && budget.enforce) enforcement = await unpostedEnforcement(s, budget, period, now);
  if (crossed.length || enforcement) {
    const card = alertCard(budget, spend, crossed, enforcement);
    const ref = await post(s, notifier, budget, card);
    if (!ref) {
      // Not posted: give the crossings back, so the next run claims and posts them again (nothing is lost).
      for (const t of crossed) await s.store.limits.releaseCrossing(budget.id, period, t, now);
      sum.crossings -= crossed.length;
    }
    if (ref && enforcement?.buttonId) {
      await s.store.limits.setEnforcementCard(enforcement.enforcement.id, {
        platform: budget.platform,
        teamId: budget.teamId,
        channelId: ref.channelId,
        messageId: ref.messageId,
      });
    }
  }

  // ---- back under within the period
  const under: number[] = [];
  for (const r of rows) {
    if (r.period !== period || r.state !== 'over' || spend.percent >= r.threshold) continue;
    if (await s.store.limits.claimBackUnder(budget.id, period, r.threshold, spend.nanos, now)) under.push(r.threshold);
  }
  if (under.length) {
    sum.backUnder += under.length;
    await post(s, notifier, budget, backUnderNotice(budget, spend, under));
  }
}

/** How long an enforcement's card may take to be posted by the run that created it before another run posts it. */
const ENFORCEMENT_CARD_GRACE_MS = 10 * 60_000;

/** This period's enforcement of the budget when it has no card yet, with keys to re-enable and a fresh button. */
async function unpostedEnforcement(
  s: Services,
  budget: Budget,
  period: string,
  now: Date,
): Promise<EnforcementOutcome | null> {
  const e = await s.store.limits.enforcementFor(budget.id, period);
  if (!e || e.card || e.reenabledAt || !e.keyIds.length) return null;
  if (now.getTime() - e.disabledAt.getTime() < ENFORCEMENT_CARD_GRACE_MS) return null;
  return outcomeOf(s, budget, e, []);
}

/** An enforcement as its card shows it: the recorded keys (as the directory knows them) and a fresh Re-enable. */
async function outcomeOf(
  s: Services,
  budget: Budget,
  e: BudgetEnforcement,
  failed: EnforcementOutcome['failed'],
): Promise<EnforcementOutcome> {
  const directory = await s.directory.read();
  const known = new Map(directory.listApiKeys().map((k) => [k.id, k]));
  const disabled: ApiKey[] = e.keyIds.map(
    (id) =>
      known.get(id) ?? {
        id,
        name: id,
        status: 'inactive',
        partialKeyHint: null,
        workspaceId: budget.workspaceId || null,
        createdAt: null,
        createdBy: null,
        expiresAt: null,
      },
  );
  const buttonId = await s.store.actionTokens.create({ kind: LIMITS_REENABLE, subjectId: e.id, choice: 'reenable' });
  return { enforcement: e, disabled, failed, buttonId };
}

/**
 * One notice per budget: the rows of past periods still over are reset; the caller that wins the claim on the
 * lowest threshold of the latest such period (the same row for every replica) posts.
 */
async function resetPastPeriods(
  s: Services,
  notifier: ChatNotifier,
  budget: Budget,
  pastOver: BudgetAlert[],
  spend: BudgetSpend,
  sum: LimitsCheckSummary,
): Promise<void> {
  const latest = pastOver.reduce((a, b) => (b.period > a.period ? b : a)).period;
  const lead = pastOver.filter((r) => r.period === latest).reduce((a, b) => (b.threshold < a.threshold ? b : a));
  const now = s.clock.now();
  let announce = false;
  if (lead.resetAt === null) announce = await s.store.limits.claimReset(budget.id, lead.period, lead.threshold, now);
  for (const r of pastOver) {
    if (r === lead || r.resetAt !== null) continue;
    await s.store.limits.claimReset(budget.id, r.period, r.threshold, now);
  }
  if (!announce) return;
  sum.resets++;
  const highest = Math.max(...pastOver.filter((r) => r.period === latest).map((r) => r.threshold));
  await post(
    s,
    notifier,
    budget,
    reply({
      visibility: 'in_channel',
      tone: 'success',
      title: `New period: the budget of ${md.escape(budgetTargetPlain(budget))} is back under`,
      text: `The ${PERIOD_WORD[budget.period]} budget of ${budgetTarget(budget)} (${formatUsd(budget.amountNanos)}) starts a new period, ${md.code(spend.period.key)}. In ${md.code(latest)} it had passed ${highest}%; its thresholds alert again from now on.`,
      blocks: [
        { type: 'fields', fields: spendFields(budget, spend) },
        { type: 'context', text: `See ${md.code('/qm limits show')}.` },
      ],
      summary: `New period for the budget of ${budgetTargetPlain(budget)}: back under (${spend.period.key}).`,
    }),
  );
}

/** `reenable: next_period`: enforcements of past periods not re-enabled yet get their keys back. */
async function reenablePastPeriods(
  s: Services,
  notifier: ChatNotifier,
  budget: Budget,
  period: string,
  sum: LimitsCheckSummary,
): Promise<void> {
  const open = (await s.store.limits.openEnforcements()).filter((e) => e.budgetId === budget.id && e.period !== period);
  for (const e of open) {
    const claimed = await s.store.limits.claimReenable(e.id, 'next_period', s.clock.now());
    if (!claimed) continue;
    let text: string;
    try {
      text = describeRestore(await restoreKeys(s, claimed));
    } catch (err) {
      await s.store.limits.releaseReenable(e.id, 'next_period');
      throw err;
    }
    sum.reenabled++;
    await post(
      s,
      notifier,
      budget,
      reply({
        visibility: 'in_channel',
        tone: 'success',
        title: `New period: keys re-enabled for the budget of ${md.escape(budgetTargetPlain(budget))}`,
        text: `The budget of ${budgetTarget(budget)} re-enables its keys when a new period starts (${md.code(period)}); ${countKeys(claimed.keyIds.length)} had been set inactive in ${md.code(e.period)}. ${text}`,
        summary: `Keys re-enabled for the budget of ${budgetTargetPlain(budget)} (new period ${period}).`,
      }),
    );
  }
}

function spendFields(budget: Budget, spend: BudgetSpend): { label: string; value: string }[] {
  let spent: string;
  if (budget.scope === 'key') {
    spent = `${formatUsd(spend.nanos)} (estimate: the key's usage × list prices; the cost report has no per-key amounts)`;
  } else if (spend.estimatedNanos > 0n) {
    spent = `${formatUsd(spend.nanos)} (${formatUsd(spend.exactNanos)} exact from the cost report + ${formatUsd(spend.estimatedNanos)} estimate from usage × prices for the hours it does not cover yet)`;
  } else {
    spent = `${formatUsd(spend.nanos)} (exact, from the cost report)`;
  }
  return [
    { label: 'Spent', value: spent },
    { label: 'Budget', value: `${formatUsd(budget.amountNanos)} per ${budget.period}` },
    { label: 'Used', value: percentText(spend.percent) },
    {
      label: 'Forecast',
      value:
        spend.forecastNanos === null
          ? 'too early in the period to say'
          : `${formatUsd(spend.forecastNanos)} for the whole period (linear)`,
    },
    { label: 'Period', value: `${md.code(spend.period.key)} (${md.escape(budget.timezone)})` },
  ];
}

const percentText = (p: number): string => (Number.isFinite(p) ? `${Math.floor(p)}%` : 'over 100%');

function alertCard(
  budget: Budget,
  spend: BudgetSpend,
  crossed: number[],
  enforcement: EnforcementOutcome | null,
): Reply {
  const top = crossed.length ? Math.max(...crossed) : 100;
  const thresholds = crossed.length
    ? crossed.length === 1
      ? `its ${crossed[0]}% threshold`
      : `its ${crossed.slice(0, -1).join('%, ')}% and ${crossed.at(-1)}% thresholds`
    : '100%';
  const blocks: ReplyBlock[] = [{ type: 'fields', fields: spendFields(budget, spend) }];
  if (enforcement) blocks.push(...enforcementBlocks(enforcement, budget));
  blocks.push({ type: 'context', text: `See ${md.code('/qm limits show')} for every budget.` });
  return reply({
    visibility: 'in_channel',
    tone: top >= 100 ? 'error' : 'warning',
    title: `Budget alert: ${md.escape(budgetTargetPlain(budget))} at ${percentText(spend.percent)}`,
    text: `The ${PERIOD_WORD[budget.period]} budget of ${budgetTarget(budget)} has passed ${thresholds}: ${formatUsd(spend.nanos)}${spend.estimate ? ' (estimate)' : ''} of ${formatUsd(budget.amountNanos)} in ${md.code(spend.period.key)}.`,
    blocks,
    summary: `Budget alert: ${budgetTargetPlain(budget)} at ${percentText(spend.percent)} of ${formatUsd(budget.amountNanos)} (${spend.period.key})${enforcement?.disabled.length ? `; ${countKeys(enforcement.disabled.length)} set inactive` : ''}.`,
  });
}

function backUnderNotice(budget: Budget, spend: BudgetSpend, under: number[]): Reply {
  const which = under.length === 1 ? `its ${under[0]}% threshold` : `its ${under.join('%, ')}% thresholds`;
  return reply({
    visibility: 'in_channel',
    tone: 'success',
    title: `Back under: the budget of ${md.escape(budgetTargetPlain(budget))}`,
    text: `The ${PERIOD_WORD[budget.period]} budget of ${budgetTarget(budget)} is back under ${which} after a revised report: ${formatUsd(spend.nanos)}${spend.estimate ? ' (estimate)' : ''} of ${formatUsd(budget.amountNanos)} in ${md.code(spend.period.key)}. It alerts again if spend passes ${under.length === 1 ? 'it' : 'them'}.`,
    blocks: [
      { type: 'fields', fields: spendFields(budget, spend) },
      { type: 'context', text: `See ${md.code('/qm limits show')}.` },
    ],
    summary: `Back under: the budget of ${budgetTargetPlain(budget)} at ${percentText(spend.percent)} (${spend.period.key}).`,
  });
}

async function post(s: Services, notifier: ChatNotifier, budget: Budget, card: Reply) {
  try {
    return await notifier.post(budget.teamId, budget.channelId, card);
  } catch (err) {
    s.logger.warn({ err, budget: budget.id, channel: budget.channelId }, 'could not post a budget notice');
    return null;
  }
}
