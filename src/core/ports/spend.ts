/**
 * Spend data as the core sees it: the ingested usage, cost and Claude Code reports (src/store implements it on
 * Prisma), digest subscriptions, and the report pages of the Admin API (src/anthropic/client.ts).
 * Money is bigint nano-dollars (see ../spend/money.ts); tokens are bigints. '' in a dimension means the API's null
 * (the Default workspace, usage without a key).
 */
import type { Nanos } from '../spend/money.js';

// ---- Admin API report pages (admin-api.md §3.7–3.9). Each call is one HTTP request (retried when safe).

export interface ReportPage<T> {
  data: T[];
  /** Token for the next page; null on the last one. */
  nextPage: string | null;
}

/** Token counts of one usage row (web search counts requests). */
export interface UsageTokens {
  uncachedInput: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  webSearch: bigint;
}

export interface UsageResult extends UsageTokens {
  workspaceId: string | null;
  apiKeyId: string | null;
  model: string | null;
  serviceTier: string | null;
}

export interface CostResult {
  /** Exact amount, converted from the API's decimal cent string. */
  nanos: Nanos;
  workspaceId: string | null;
  description: string | null;
  costType: string | null;
  model: string | null;
  tokenType: string | null;
  serviceTier: string | null;
}

export interface ReportBucket<T> {
  startingAt: Date;
  endingAt: Date;
  results: T[];
}

export interface ClaudeCodeRecord {
  /** UTC day. */
  day: Date;
  actorType: 'user' | 'api_key' | 'unknown';
  /** E-mail address of a user actor, or the API key name of an api actor. */
  actor: string;
  terminalType: string;
  customerType: string;
  sessions: number;
  linesAdded: number;
  linesRemoved: number;
  commits: number;
  pullRequests: number;
  toolAccepted: number;
  toolRejected: number;
  inputTokens: bigint;
  outputTokens: bigint;
  cacheRead: bigint;
  cacheCreation: bigint;
  costNanos: Nanos;
}

export interface UsageReportQuery {
  startingAt: Date;
  endingAt?: Date;
  bucketWidth: '1m' | '1h' | '1d';
  /** Buckets per page (max 168 for 1h, 31 for 1d, 1440 for 1m). */
  limit: number;
  groupBy: readonly string[];
  page?: string;
}

export interface CostReportQuery {
  startingAt: Date;
  endingAt?: Date;
  /** Days per page (max 31). */
  limit: number;
  groupBy: readonly string[];
  page?: string;
}

export interface ClaudeCodeQuery {
  /** One UTC day. */
  day: Date;
  /** Records per page (max 1000). */
  limit: number;
  page?: string;
}

/** One limit of a rate-limit group (admin-api.md §3.10). */
export interface RateLimitValue {
  /** e.g. requests_per_minute, input_tokens_per_minute, output_tokens_per_minute, enqueued_batch_requests */
  type: string;
  value: number;
  /** On a workspace override: the organization's limit it overrides (null when the API does not say). */
  orgLimit: number | null;
}

/** One rate-limit group: the organization's (`rate_limit`) or a workspace's override (`workspace_rate_limit`). */
export interface RateLimitGroup {
  /** model_group | batch | token_count | files | skills | web_search, or a newer value. */
  groupType: string;
  /** The group's display name where the API gives one (newer responses), else null. */
  displayName: string | null;
  /** Models the group covers (empty for groups that are not per model). */
  models: string[];
  limits: RateLimitValue[];
}

/** The report endpoints (and the read-only rate limits), kept apart from AdminApi so the directory code does not grow with them. */
export interface ReportsApi {
  usageReportPage(q: UsageReportQuery): Promise<ReportPage<ReportBucket<UsageResult>>>;
  costReportPage(q: CostReportQuery): Promise<ReportPage<ReportBucket<CostResult>>>;
  claudeCodePage(q: ClaudeCodeQuery): Promise<ReportPage<ClaudeCodeRecord>>;
  /** GET /v1/organizations/rate_limits, every page. */
  rateLimits(): Promise<RateLimitGroup[]>;
  /** GET /v1/organizations/workspaces/{id}/rate_limits: the workspace's overrides only (absent = inherited). */
  workspaceRateLimits(workspaceId: string): Promise<RateLimitGroup[]>;
}

// ---- Stored rows

export interface UsageHourRow extends UsageTokens {
  bucketStart: Date;
  workspaceId: string;
  apiKeyId: string;
  model: string;
  serviceTier: string;
}

export interface CostDayRow {
  day: Date;
  workspaceId: string;
  description: string;
  costType: string;
  model: string;
  tokenType: string;
  serviceTier: string;
  nanos: Nanos;
}

export type ClaudeCodeDayRow = ClaudeCodeRecord;

export type ReportName = 'usage' | 'costs' | 'claude_code';

/**
 * The ingestion side. A replace makes the window's rows exactly the rows given: the old rows go, the new ones come,
 * bucket by bucket (each bucket's old rows go in the same transaction as its new rows come; a large window is
 * several transactions of whole buckets). A replace that fails midway leaves every bucket old or new, never mixed.
 */
export interface SpendWrites {
  replaceUsage(from: Date, to: Date, rows: readonly UsageHourRow[]): Promise<{ deleted: number; inserted: number }>;
  replaceCosts(from: Date, to: Date, rows: readonly CostDayRow[]): Promise<{ deleted: number; inserted: number }>;
  replaceClaudeCode(
    from: Date,
    to: Date,
    rows: readonly ClaudeCodeDayRow[],
  ): Promise<{ deleted: number; inserted: number }>;
  /** End of the last window written completely, or null before the first sync. */
  syncedThrough(report: ReportName): Promise<Date | null>;
  setSyncedThrough(report: ReportName, through: Date, now: Date): Promise<void>;
  /** When syncedThrough was last written (the last sync that completed a window), or null before the first. */
  lastSyncedAt(report: ReportName): Promise<Date | null>;
  /**
   * Start of the ingested range (everything from here to syncedThrough has been written), or null before the
   * first sync. Lets a caller that needs an older window (the digest for a past day) fetch only what is missing.
   */
  syncedFrom(report: ReportName): Promise<Date | null>;
  setSyncedFrom(report: ReportName, from: Date, now: Date): Promise<void>;
}

// ---- Digest subscriptions

export interface DigestSubscription {
  id: string;
  platform: 'slack' | 'discord' | 'playground';
  teamId: string;
  channelId: string;
  cadence: 'daily' | 'weekly';
  /** HH:MM in `timezone`. */
  time: string;
  timezone: string;
  /** 1 (Monday) … 7 (Sunday); used by weekly digests. */
  weekday: number;
  createdBy: string;
  createdAt: Date;
}

/** One (subscription, period) row: claimed by one replica, then sent (or released after a failed send). */
export interface DigestDelivery {
  subscriptionId: string;
  /** YYYY-MM-DD (daily) or YYYY-Www (weekly), in the subscription's time zone. */
  period: string;
  holder: string;
  claimedAt: Date;
  sentAt: Date | null;
}

export type DigestSubscriptionInput = Omit<DigestSubscription, 'id' | 'createdAt'>;

/** Digest subscriptions and the deliveries that make each digest go out once per subscription and period. */
export interface DigestStore {
  /**
   * Creates the channel's subscription of that cadence, or changes its time, zone and weekday (one per
   * platform, team, channel and cadence; concurrent calls end with one row). `created` is false for a change.
   */
  subscribe(input: DigestSubscriptionInput, now: Date): Promise<{ subscription: DigestSubscription; created: boolean }>;
  /** Removes the channel's subscriptions (of one cadence, or all) and their deliveries; returns the removed ones. */
  unsubscribe(
    where: { platform: DigestSubscription['platform']; teamId: string; channelId: string },
    cadence?: DigestSubscription['cadence'],
  ): Promise<DigestSubscription[]>;
  /** Every subscription, or a channel's, oldest first. */
  list(where?: {
    platform: DigestSubscription['platform'];
    teamId: string;
    channelId: string;
  }): Promise<DigestSubscription[]>;
  /**
   * Claims the digest of one subscription and period for `holder`: true for exactly one caller across replicas
   * (an INSERT on the unique row). A claim that was neither sent nor released within `staleAfterMs` (its holder
   * died mid-send) may be taken over, by a conditional update that again only one caller wins.
   */
  claim(subscriptionId: string, period: string, holder: string, now: Date, staleAfterMs: number): Promise<boolean>;
  /** Marks a claimed digest sent; false when the claim is no longer this holder's. */
  markSent(subscriptionId: string, period: string, holder: string, at: Date): Promise<boolean>;
  /** Gives up an unsent claim after a failed send, so the next run tries again. */
  release(subscriptionId: string, period: string, holder: string): Promise<void>;
  delivery(subscriptionId: string, period: string): Promise<DigestDelivery | null>;
}

/**
 * When a cron schedule fires, in an IANA time zone (src/scheduler implements it with node-cron's matcher, which the
 * core may not import).
 */
export interface CronSchedule {
  /**
   * The latest whole minute in (now − withinMs, now] at which the five-field cron expression fires in `timezone`
   * (daylight-saving time included: `0 9 * * *` in Europe/Berlin is 07:00 UTC in summer, 08:00 UTC in winter);
   * null when it does not fire in that window.
   */
  lastFire(expression: string, timezone: string, now: Date, withinMs: number): Date | null;
}

// ---- Reading the ingested reports: every aggregate is computed by the database (GROUP BY, SUM), never by loading
// the rows. Ranges are [from, to) in UTC; days are UTC midnights.

/** Token sums of usage rows: the same counts as one row. */
export type TokenSums = UsageTokens;

export type UsageDimension = 'apiKeyId' | 'workspaceId' | 'model' | 'serviceTier';

/**
 * Which usage rows a caller may see: rows of these workspaces OR of these keys. Absent means every row (billing,
 * admin, the digest). Both lists empty means none.
 */
export interface UsageScope {
  workspaceIds: readonly string[];
  apiKeyIds: readonly string[];
}

/** One group of usage rows: the dimensions asked for are set, the others are absent. */
export interface UsageGroup extends TokenSums {
  apiKeyId?: string;
  workspaceId?: string;
  model?: string;
  serviceTier?: string;
}

export interface CostDaySum {
  day: Date;
  /** Set when asked per workspace ('' is the Default workspace). */
  workspaceId?: string;
  nanos: Nanos;
}

export interface ClaudeCodeActorSum {
  actorType: string;
  actor: string;
  sessions: number;
  linesAdded: number;
  linesRemoved: number;
  commits: number;
  pullRequests: number;
  costNanos: Nanos;
}

export interface SpendQueries {
  /** Cost report per UTC day in [from, to); per workspace too when `byWorkspace`; only these workspaces if given. */
  costByDay(
    from: Date,
    to: Date,
    o?: { byWorkspace?: boolean; workspaceIds?: readonly string[] },
  ): Promise<CostDaySum[]>;
  /** Cost report per workspace over [from, to). */
  costByWorkspace(
    from: Date,
    to: Date,
    o?: { workspaceIds?: readonly string[] },
  ): Promise<{ workspaceId: string; nanos: Nanos }[]>;
  /** Token sums per UTC day over [from, to) (the hourly rows folded by the database). */
  tokensByDay(from: Date, to: Date, scope?: UsageScope): Promise<(TokenSums & { day: Date })[]>;
  /** Token sums over [from, to), grouped by the given dimensions (none: one total row, absent when no data). */
  tokens(from: Date, to: Date, by: readonly UsageDimension[], scope?: UsageScope): Promise<UsageGroup[]>;
  /**
   * Token sums per usage hour over [from, to), grouped by the given dimensions too (GROUP BY the hour and them):
   * the hourly series of a few subjects (runaway spend's baselines), with `scope` naming those subjects. Hours
   * without usage have no group.
   */
  tokensByHour(
    from: Date,
    to: Date,
    by: readonly UsageDimension[],
    scope?: UsageScope,
  ): Promise<(UsageGroup & { hour: Date })[]>;
  /** Start of the newest ingested usage hour, or null when there is none. */
  latestUsageHour(): Promise<Date | null>;
  /** Claude Code per actor over the days in [from, to). */
  claudeCodeByActor(from: Date, to: Date): Promise<ClaudeCodeActorSum[]>;
}
