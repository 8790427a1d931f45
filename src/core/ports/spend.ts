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

export interface UsageResult {
  workspaceId: string | null;
  apiKeyId: string | null;
  model: string | null;
  serviceTier: string | null;
  uncachedInput: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  webSearch: bigint;
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

/** The report endpoints, kept apart from AdminApi so the directory code does not grow with them. */
export interface ReportsApi {
  usageReportPage(q: UsageReportQuery): Promise<ReportPage<ReportBucket<UsageResult>>>;
  costReportPage(q: CostReportQuery): Promise<ReportPage<ReportBucket<CostResult>>>;
  claudeCodePage(q: ClaudeCodeQuery): Promise<ReportPage<ClaudeCodeRecord>>;
}

// ---- Stored rows

export interface UsageHourRow {
  bucketStart: Date;
  workspaceId: string;
  apiKeyId: string;
  model: string;
  serviceTier: string;
  uncachedInput: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  webSearch: bigint;
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

/** The ingestion side. Each replace runs in one transaction: the window's old rows go, the new ones come. */
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
  platform: 'slack' | 'discord';
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

// ---- Reading the ingested reports: every aggregate is computed by the database (GROUP BY, SUM), never by loading
// the rows. Ranges are [from, to) in UTC; days are UTC midnights.

/** Token sums of usage rows. */
export interface TokenSums {
  uncachedInput: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  webSearch: bigint;
}

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
  /** Start of the newest ingested usage hour, or null when there is none. */
  latestUsageHour(): Promise<Date | null>;
  /** Claude Code per actor over the days in [from, to). */
  claudeCodeByActor(from: Date, to: Date): Promise<ClaudeCodeActorSum[]>;
}
