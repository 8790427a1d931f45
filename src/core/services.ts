import type { Policy, RequestKind } from './approvals/policy.js';
import type { Reply } from './command/reply.js';
import type { DirectoryService } from './directory.js';
import type { Caller } from './identity/caller.js';
import type { AdminApi, Organization, Workspace } from './ports/admin-api.js';
import type { ChatNotifier, Clock, Hasher, Logger, SecretVerifier } from './ports/runtime.js';
import type { CronSchedule, ReportsApi } from './ports/spend.js';
import type { ApprovalRequest, ApprovalVote, Platform, Store } from './ports/store.js';

/** What command handlers may use. Built once in src/main.ts. */
export interface Services {
  admin: AdminApi;
  /** The usage, cost and Claude Code reports (same key and base URL as `admin`). */
  reports: ReportsApi;
  store: Store;
  directory: DirectoryService;
  clock: Clock;
  logger: Logger;
  /** HMAC for leak fingerprints (node:crypto, given by src/main.ts). */
  hasher: Hasher;
  /** Tells a working leaked API key from a fake built from its hint (absent: every verdict is `unknown`). */
  secretVerifier?: SecretVerifier;
  /** The approval policy (quartermaster.yaml, or the built-in defaults). */
  policy: Policy;
  /** The organization behind the admin key (cached after the first call). */
  organization(): Promise<Organization>;
  /** Posting and editing outside an interaction, per connected platform. */
  notifiers: Partial<Record<Platform, ChatNotifier>>;
  /** Files, decides and carries out requests (set once the services exist: it uses them). */
  approvals: Approvals;
  /** Settings the operator chose that commands need to word their answers. */
  settings: {
    /** True when running against the built-in simulated organization. */
    simulated: boolean;
  };
  /** When cron schedules fire in a time zone (digest subscriptions); src/scheduler implements it with node-cron. */
  schedule?: CronSchedule;
  /** Renders the digest's cost chart as a PNG (src/charts); absent where no renderer is built in. */
  charts?: ChartRenderer;
}

/** A request to file under the policy (see Approvals.submit). */
export interface SubmitInput {
  caller: Caller;
  kind: RequestKind;
  workspace: Workspace | null;
  payload: Record<string, unknown>;
  reason: string | null;
  summary: string;
  /** Where the command was typed (cards go there unless the policy names a channel). */
  channelId: string | null;
}

/**
 * The approval engine as commands and jobs use it (src/core/approvals/engine.ts implements it). A port here, so
 * that services.ts depends on no approvals module that depends on it.
 */
export interface Approvals {
  /** Files a request (or, for an admin allowed to act directly, carries it out) and answers the requester. */
  submit(input: SubmitInput): Promise<Reply>;
  /** Cancels the caller's own pending request. */
  cancel(caller: Caller, id: string): Promise<Reply>;
  /** The card of a request as it stands. */
  card(request: ApprovalRequest, votes?: ApprovalVote[]): Promise<Reply>;
  /** Runs the outbox soon (after an approval, or at start). */
  kick(): void;
  /** Resolves once no execution is running (shutdown). */
  idle(): Promise<void>;
  runDue(): Promise<number>;
  expireDue(): Promise<number>;
  remindDue(): Promise<number>;
}

/** The chart renderer as the core sees it (the renderer itself lives outside the core: it uses ECharts). */
export interface ChartRenderer {
  costChart(input: {
    title: string;
    days: string[];
    /** Dollars per day (display only: rounded to the cent from the exact amounts), one per entry of `days`. */
    series: { name: string; usd: number[] }[];
  }): Promise<Uint8Array>;
}
