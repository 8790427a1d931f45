/**
 * Setting and clearing budgets, shared by `/qm limits set|clear` (billing and admins, directly) and the executor of
 * approved `limit.set` requests (everyone else). Both are idempotent: setting the same budget twice leaves one row
 * with those values, clearing a budget that is gone does nothing. Also the parsing of what people type for a budget
 * (amount, thresholds, channel), so that a request is checked the same way before it is filed.
 */
import { md } from '../command/reply.js';
import { DomainError } from '../errors.js';
import type { Budget, BudgetInput, BudgetPeriod, BudgetReenable, BudgetScope } from '../ports/limits.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import { formatUsd, NANOS_PER_USD, type Nanos, parseUsd } from '../spend/money.js';

export const BUDGET_SCOPES = ['org', 'workspace', 'key'] as const satisfies readonly BudgetScope[];
export const BUDGET_PERIODS = ['day', 'week', 'month'] as const satisfies readonly BudgetPeriod[];
export const BUDGET_REENABLE = ['next_period', 'manual'] as const satisfies readonly BudgetReenable[];
export const DEFAULT_THRESHOLDS: readonly number[] = [50, 80, 100];
export const MAX_THRESHOLDS = 10;
/** The largest budget accepted: a typo guard ($1 billion a period). */
export const MAX_BUDGET_NANOS: Nanos = 1_000_000_000n * NANOS_PER_USD;

/** A budget amount in US dollars: `5000`, `$5,000`, `250.50`; more than zero, whole cents. */
export function parseAmount(text: string): Nanos {
  const t = text.trim();
  const example = `give it in US dollars, like ${md.code('5000')}, ${md.code('$5,000')} or ${md.code('250.50')}`;
  if (/^-\s*\$?\d/.test(t) || /^\$-\d/.test(t))
    throw new DomainError('INVALID_INPUT', `A budget must be more than $0 (you typed ${md.code(t)}).`);
  const nanos = parseUsd(t);
  if (nanos === null || !/^\$?[\d,]*(\.\d*)?$/.test(t)) {
    throw new DomainError('INVALID_INPUT', `${md.code(t)} is not an amount: ${example}.`);
  }
  if (/\.\d{3,}$/.test(t)) throw new DomainError('INVALID_INPUT', `${md.code(t)} has fractions of a cent: ${example}.`);
  if (nanos <= 0n) throw new DomainError('INVALID_INPUT', `A budget must be more than $0 (you typed ${md.code(t)}).`);
  if (nanos > MAX_BUDGET_NANOS) {
    throw new DomainError(
      'INVALID_INPUT',
      `${md.code(t)} is more than the largest budget accepted (${formatUsd(MAX_BUDGET_NANOS)}).`,
    );
  }
  return nanos;
}

/**
 * Alert thresholds in whole percent of the amount, comma-separated (`50,80,100`, `%` allowed): 1 to 1000, returned
 * ascending without duplicates. With `enforce`, 100 is added when missing (enforcement happens at 100 %).
 */
export function parseThresholds(
  text: string | undefined,
  enforce: boolean,
): { thresholds: number[]; added100: boolean } {
  let list: number[];
  if (text === undefined || text.trim() === '') list = [...DEFAULT_THRESHOLDS];
  else {
    const parts = text
      .split(',')
      .map((p) => p.trim().replace(/%$/, '').trim())
      .filter((p) => p !== '');
    if (parts.length === 0) parts.push(text.trim());
    list = [];
    for (const p of parts) {
      if (!/^\d{1,4}$/.test(p) || Number(p) < 1 || Number(p) > 1000) {
        throw new DomainError(
          'INVALID_INPUT',
          `${md.code(p || text.trim())} is not a threshold: give whole percents from 1 to 1000, comma-separated, like ${md.code('50,80,100')}.`,
        );
      }
      list.push(Number(p));
    }
  }
  const thresholds = [...new Set(list)].sort((a, b) => a - b);
  const added100 = enforce && !thresholds.includes(100);
  if (added100) {
    thresholds.push(100);
    thresholds.sort((a, b) => a - b);
  }
  if (thresholds.length > MAX_THRESHOLDS) {
    throw new DomainError('INVALID_INPUT', `At most ${MAX_THRESHOLDS} thresholds (you gave ${thresholds.length}).`);
  }
  return { thresholds, added100 };
}

/**
 * The channel alerts go to: a channel id, or a channel mention as the platform writes it (Slack `<#C123|name>` or
 * `<#C123>`, Discord `<#123>`). Null: none given (the channel where the command was typed).
 */
export function parseChannel(text: string | undefined, platform: Platform): string | null {
  if (text === undefined || text.trim() === '') return null;
  const t = text.trim();
  const id = /^<#([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(t)?.[1] ?? t;
  if (platform !== 'discord' ? /^[CGD][A-Z0-9]{2,}$/.test(id) : /^\d{15,21}$/.test(id)) return id;
  const like = platform !== 'discord' ? `#channel (or its id, like ${md.code('C0123ABCD')})` : '#channel';
  throw new DomainError('INVALID_INPUT', `${md.code(t)} is not a channel: mention it, like ${like}.`);
}

/** "the organization", "workspace prod", "key prod-chat" (escaped). */
export function budgetTarget(b: Pick<Budget, 'scope' | 'targetName'>): string {
  return b.scope === 'org' ? 'the organization' : `${b.scope} ${md.bold(b.targetName)}`;
}

/** The same at the start of a sentence. */
export function budgetTargetStart(b: Pick<Budget, 'scope' | 'targetName'>): string {
  return cap(budgetTarget(b));
}

const PER: Record<BudgetPeriod, string> = { day: 'a day', week: 'a week', month: 'a month' };

/** One line saying what a budget is: amount, period, thresholds, enforcement (markup, user text escaped). */
export function describeBudget(
  b: Pick<Budget, 'scope' | 'targetName' | 'amountNanos' | 'period' | 'thresholds' | 'enforce' | 'reenable'>,
): string {
  const enforce = b.enforce
    ? `enforced: at 100 % its active keys are set inactive, ${b.reenable === 'next_period' ? 're-enabled when the next period starts (or by an approver)' : 're-enabled only by an approver'}`
    : 'alerts only (not enforced)';
  return `${md.bold(formatUsd(b.amountNanos))} ${PER[b.period]} for ${budgetTarget(b)}; alerts at ${b.thresholds.map((t) => `${t} %`).join(', ')}; ${enforce}`;
}

/** The same in plain words, for request summaries (shown escaped on the card). */
export function budgetSummary(b: Pick<Budget, 'scope' | 'targetName' | 'amountNanos' | 'period' | 'enforce'>): string {
  const target = b.scope === 'org' ? 'the organization' : `${b.scope} ${b.targetName}`;
  return `Budget of ${formatUsd(b.amountNanos)} ${PER[b.period]} for ${target}${b.enforce ? ' (enforced)' : ''}`;
}

// ---- the request payload (JSON: money as a decimal string of nano-dollars)

export type LimitChange =
  | { action: 'set'; budget: BudgetInput }
  | { action: 'clear'; scope: BudgetScope; targetId: string; targetName: string };

export function changeToPayload(c: LimitChange): Record<string, unknown> {
  if (c.action === 'clear') return { ...c };
  return { action: 'set', budget: { ...c.budget, amountNanos: c.budget.amountNanos.toString() } };
}

export function changeFromPayload(p: Record<string, unknown>): LimitChange {
  if (p.action === 'clear') {
    return {
      action: 'clear',
      scope: p.scope as BudgetScope,
      targetId: String(p.targetId ?? ''),
      targetName: String(p.targetName ?? ''),
    };
  }
  if (p.action !== 'set' || typeof p.budget !== 'object' || p.budget === null)
    throw new Error(`limit.set: unknown action ${JSON.stringify(p.action)}`);
  const b = p.budget as Record<string, unknown>;
  return {
    action: 'set',
    budget: {
      ...(b as unknown as BudgetInput),
      amountNanos: BigInt(String(b.amountNanos)),
      thresholds: (b.thresholds as unknown[]).map(Number),
    },
  };
}

// ---- doing it

/** Creates or changes the budget of that scope and target (one per scope and target). */
export async function setBudget(
  s: Services,
  input: BudgetInput,
): Promise<{ budget: Budget; created: boolean; message: string }> {
  const before = await s.store.limits.findBudget(input.scope, input.targetId);
  const { budget, created } = await s.store.limits.upsertBudget(input, s.clock.now());
  const unchanged = before !== null && sameBudget(before, budget);
  const verb = created ? 'Budget set' : unchanged ? 'Budget unchanged' : 'Budget changed';
  // A changed budget (raised, no longer enforced) does not give back the keys it already set inactive: say so.
  const open = created
    ? []
    : (await s.store.limits.openEnforcements()).filter((e) => e.budgetId === budget.id && e.keyIds.length);
  const stay = open.map(
    (e) =>
      ` The ${e.keyIds.length === 1 ? 'key' : `${e.keyIds.length} keys`} it set inactive in ${md.code(e.period)} stay${e.keyIds.length === 1 ? 's' : ''} inactive until ${md.bold('Re-enable')} on its alert card${budget.reenable === 'next_period' ? ' or the next period' : ''}.`,
  );
  return { budget, created, message: `${verb}: ${describeBudget(budget)}.${stay.join('')}` };
}

/** Removes the budget of that scope and target; says so when there was none. */
export async function clearBudget(
  s: Services,
  scope: BudgetScope,
  targetId: string,
  targetName: string,
): Promise<{ budget: Budget | null; message: string }> {
  const budget = await s.store.limits.deleteBudget(scope, targetId);
  if (!budget)
    return { budget, message: `${budgetTargetStart({ scope, targetName })} had no budget; nothing to clear.` };
  // Its enforcements outlive it (their Re-enable buttons keep working), but no later period re-enables their keys:
  // say so, rather than leave keys inactive without a word.
  const open = (await s.store.limits.openEnforcements()).filter((e) => e.budgetId === budget.id && e.keyIds.length);
  const stay = open.map(
    (e) =>
      ` The ${e.keyIds.length === 1 ? 'key' : `${e.keyIds.length} keys`} it set inactive in ${md.code(e.period)} stay${e.keyIds.length === 1 ? 's' : ''} inactive: ${md.bold('Re-enable')} on its alert card restores ${e.keyIds.length === 1 ? 'it' : 'them'} (no new period will).`,
  );
  return {
    budget,
    message: `Budget cleared for ${budgetTarget(budget)} (it was ${formatUsd(budget.amountNanos)} ${PER[budget.period]}).${stay.join('')}`,
  };
}

/** What a request to set a budget replaces, in plain words: "replaces the budget of $1,000.00 a month (enforced)". */
export function replacesText(b: Pick<Budget, 'amountNanos' | 'period' | 'enforce'>): string {
  return `replaces the budget of ${formatUsd(b.amountNanos)} ${PER[b.period]}${b.enforce ? ' (enforced)' : ' (alerts only)'}`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function sameBudget(a: Budget, b: Budget): boolean {
  return (
    a.amountNanos === b.amountNanos &&
    a.period === b.period &&
    a.timezone === b.timezone &&
    a.enforce === b.enforce &&
    a.reenable === b.reenable &&
    a.channelId === b.channelId &&
    a.platform === b.platform &&
    a.thresholds.join(',') === b.thresholds.join(',')
  );
}
