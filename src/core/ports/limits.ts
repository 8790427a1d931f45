/**
 * Limits as the core sees them (issue 10): Quartermaster's own budgets, the rows that make each threshold alert go
 * out once per budget, period and threshold across runs and replicas, the keys an enforced budget set inactive,
 * and runaway-spend episodes. src/store/limits-store.ts implements it on Prisma. Money is bigint nano-dollars.
 */
import type { Nanos } from '../spend/money.js';

/** The chat platforms (as in store.ts's Platform, which imports this module). */
type Platform = 'slack' | 'discord' | 'playground';

export type BudgetScope = 'org' | 'workspace' | 'key';
export type BudgetPeriod = 'day' | 'week' | 'month';
export type BudgetReenable = 'next_period' | 'manual';

export interface Budget {
  id: string;
  scope: BudgetScope;
  /** '' for org; the workspace id; the key id. */
  targetId: string;
  /** The target's name when the budget was set. */
  targetName: string;
  /** '' for org (and for a key of the Default workspace); the workspace itself; the key's workspace. */
  workspaceId: string;
  amountNanos: Nanos;
  period: BudgetPeriod;
  /** IANA zone the calendar periods are counted in. */
  timezone: string;
  /** Ascending whole percentages, e.g. [50, 80, 100]. */
  thresholds: number[];
  enforce: boolean;
  reenable: BudgetReenable;
  /** Where its alerts go. */
  platform: Platform;
  teamId: string;
  channelId: string;
  /** Org user id of whoever set it. */
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export type BudgetInput = Omit<Budget, 'id' | 'createdAt' | 'updatedAt'>;

/** One threshold of one budget in one period. */
export interface BudgetAlert {
  budgetId: string;
  /** Period key: YYYY-MM-DD (day), YYYY-Www (ISO week), YYYY-MM (month), in the budget's time zone. */
  period: string;
  threshold: number;
  state: 'over' | 'under';
  crossedAt: Date;
  backUnderAt: Date | null;
  spendNanos: Nanos;
  /** When the period-reset notice for this row was claimed. */
  resetAt: Date | null;
}

/** Where a card was posted, so it can be edited later. */
export interface CardRef {
  platform: Platform;
  teamId: string;
  channelId: string;
  messageId: string;
}

export interface BudgetEnforcement {
  id: string;
  budgetId: string;
  period: string;
  /** The keys this enforcement set inactive (only those it changed). */
  keyIds: string[];
  disabledAt: Date;
  reenabledAt: Date | null;
  /** Org user id of the approver who re-enabled, or 'next_period'. */
  reenabledBy: string | null;
  card: CardRef | null;
}

export interface SpendAnomaly {
  id: string;
  subjectType: 'key' | 'workspace';
  subjectId: string;
  window: 'hour' | 'day';
  /** Start of the anomalous bucket that opened the episode. */
  startedAt: Date;
  lastSeenAt: Date;
  endedAt: Date | null;
  costNanos: Nanos;
  baselineNanos: Nanos;
  card: CardRef | null;
}

export interface LimitsStore {
  // ---- budgets
  /** Creates the budget of that scope and target, or changes it (one per scope and target; concurrent calls end with one row). */
  upsertBudget(input: BudgetInput, now: Date): Promise<{ budget: Budget; created: boolean }>;
  getBudget(id: string): Promise<Budget | null>;
  findBudget(scope: BudgetScope, targetId: string): Promise<Budget | null>;
  /** Every budget, oldest first. */
  listBudgets(): Promise<Budget[]>;
  /** Removes the budget (its alert rows go with it; enforcements stay, so their Re-enable still works). */
  deleteBudget(scope: BudgetScope, targetId: string): Promise<Budget | null>;

  // ---- threshold alerts: each claim is true for exactly one caller across replicas
  /** The crossing of a threshold: INSERT (state over), or a flip under → over. */
  claimCrossing(budgetId: string, period: string, threshold: number, spend: Nanos, at: Date): Promise<boolean>;
  /**
   * Gives a crossing claimed at `at` back when its alert could not be posted (the row goes), so the next run
   * claims and posts it again; a row changed by anyone since is left alone.
   */
  releaseCrossing(budgetId: string, period: string, threshold: number, at: Date): Promise<void>;
  /** Falling back under within the period: a flip over → under. */
  claimBackUnder(budgetId: string, period: string, threshold: number, spend: Nanos, at: Date): Promise<boolean>;
  /** The period-reset notice of a row still over in a past period: sets resetAt once. */
  claimReset(budgetId: string, period: string, threshold: number, at: Date): Promise<boolean>;
  /** A budget's alert rows (of one period, or all). */
  alerts(budgetId: string, period?: string): Promise<BudgetAlert[]>;

  // ---- enforcement
  /** Creates the enforcement of a budget and period: null when one exists already (another run or replica has it). */
  createEnforcement(
    budgetId: string,
    period: string,
    keyIds: readonly string[],
    at: Date,
  ): Promise<BudgetEnforcement | null>;
  setEnforcementKeys(id: string, keyIds: readonly string[]): Promise<void>;
  setEnforcementCard(id: string, card: CardRef): Promise<void>;
  getEnforcement(id: string): Promise<BudgetEnforcement | null>;
  enforcementFor(budgetId: string, period: string): Promise<BudgetEnforcement | null>;
  /** Enforcements not re-enabled yet, oldest first. */
  openEnforcements(): Promise<BudgetEnforcement[]>;
  /** Claims the re-enabling (sets reenabledAt/By where still null): the row for exactly one caller, else null. */
  claimReenable(id: string, by: string, at: Date): Promise<BudgetEnforcement | null>;
  /** Gives a claim back after a failure, so it can be tried again. */
  releaseReenable(id: string, by: string): Promise<void>;

  // ---- runaway spend
  /** The open episode of a key or workspace, if any. */
  openAnomaly(subjectType: SpendAnomaly['subjectType'], subjectId: string): Promise<SpendAnomaly | null>;
  /** Opens an episode: null when that (subject, startedAt) row exists already (another replica opened it). */
  createAnomaly(input: Omit<SpendAnomaly, 'id' | 'endedAt' | 'card'>): Promise<SpendAnomaly | null>;
  touchAnomaly(id: string, lastSeenAt: Date, costNanos: Nanos): Promise<void>;
  /** Removes an episode whose alert reached no channel (it has no card), so the next run opens and alerts it again. */
  dropAnomaly(id: string): Promise<void>;
  endAnomaly(id: string, at: Date): Promise<void>;
  setAnomalyCard(id: string, card: CardRef): Promise<void>;
  getAnomaly(id: string): Promise<SpendAnomaly | null>;
  /** Episodes started in [from, to) (the digest's anomalies). */
  anomaliesBetween(from: Date, to: Date): Promise<SpendAnomaly[]>;
}
