/**
 * Persistence as the core sees it. Implemented by src/store/ (Prisma, SQLite or PostgreSQL).
 * The core never sees Prisma types: everything crossing this port is a plain object.
 */

import type { ApiKey, Invite, OrgUser, Workspace, WorkspaceMember } from './admin-api.js';
import type { LeaksStore } from './leaks.js';
import type { LimitsStore } from './limits.js';
import type { DigestStore, SpendQueries, SpendWrites } from './spend.js';

export type Platform = 'slack' | 'discord' | 'playground';

/** A chat account (platform + team/guild + user id) linked to an Anthropic org member. */
export interface IdentityLink {
  platform: Platform;
  /** Slack team id (T…) or Discord guild id. */
  teamId: string;
  /** Slack user id (U…/W…) or Discord user snowflake. */
  userId: string;
  orgUserId: string;
  email: string;
  /** How the link was made: `slack_email` (verified profile email), `operator` (CLI), `admin` (an org admin in chat). */
  method: string;
  linkedAt: Date;
  /** Last time the link was re-checked against the chat platform and the Admin API. */
  refreshedAt: Date;
}

export type AuditOutcome = 'allowed' | 'denied' | 'failed';

/** The dispatcher stage an invocation reached. */
export type AuditStage = 'resolve' | 'authorize' | 'validate' | 'run' | 'render';

export interface AuditEntryInput {
  platform: Platform | 'cli' | 'system';
  teamId: string | null;
  /** Chat user id of the actor (or `cli`/`system`). */
  actorId: string;
  orgUserId: string | null;
  actorEmail: string | null;
  /** What was attempted, e.g. `keys list`. */
  action: string;
  /** Options as given, with anything secret-shaped redacted. */
  options: Record<string, unknown>;
  outcome: AuditOutcome;
  stage: AuditStage;
  /** Error code for denied/failed outcomes (FORBIDDEN, UNLINKED, INVALID_INPUT, UPSTREAM_FAILED, …). */
  errorCode: string | null;
  /** Human-readable summary of the outcome. */
  message: string | null;
  durationMs: number;
}

export interface AuditEntry extends AuditEntryInput {
  id: string;
  at: Date;
}

/**
 * Everything the directory sync pulled from the Admin API in one pass. A part that could not be fetched
 * is null: the stored copy of that part is kept as it was.
 */
export interface DirectorySnapshot {
  users: OrgUser[];
  invites: Invite[] | null;
  workspaces: Workspace[] | null;
  members: WorkspaceMember[] | null;
  apiKeys: ApiKey[] | null;
  syncedAt: Date;
}

/**
 * Identifies a state of the stored directory: `syncedAt` moves with every full sync (it is the freshness the
 * permission checks go by), `changedAt` with every write that changed a row (a full sync that found a difference,
 * a live role check, a key change, a workspace's members re-read). Equal versions mean equal stored copies; equal
 * `changedAt` alone means equal rows (a full sync that found nothing to change moves only `syncedAt`).
 */
export interface DirectoryVersion {
  syncedAt: Date | null;
  changedAt: Date | null;
}

/** The stored copy of the organization that permission checks and list commands read (invites aside). */
export interface DirectoryData {
  users: OrgUser[];
  workspaces: Workspace[];
  members: WorkspaceMember[];
  apiKeys: ApiKey[];
  version: DirectoryVersion;
}

/** Rows a directory write touched, all tables together. */
export interface DirectoryWriteCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/** What a full sync wrote, and the version of the stored copy it left (read under the directory's write lock). */
export interface DirectoryReplaced extends DirectoryWriteCounts {
  version: DirectoryVersion;
}

/** A chat user's request to be linked to an org member, decided by an org admin (Discord shares no email). */
export interface LinkRequest {
  id: string;
  platform: Platform;
  teamId: string;
  userId: string;
  email: string;
  /** The org member the email matched in the synced directory when filed; null when none did. */
  orgUserId: string | null;
  status: 'pending' | 'approved' | 'denied' | 'cancelled';
  createdAt: Date;
  decidedAt: Date | null;
  /** Org user id of the admin who decided. */
  decidedBy: string | null;
  /** Where the card is, so it can be edited later with the bot token. */
  channelId: string | null;
  messageId: string | null;
}

/** What an opaque button id stands for. */
export interface ActionToken {
  id: string;
  kind: string;
  subjectId: string;
  choice: string;
  createdAt: Date;
}

export type ApprovalStatus =
  | 'pending'
  | 'approved'
  | 'executing'
  | 'done'
  | 'failed'
  | 'denied'
  | 'expired'
  | 'cancelled';

export interface ApprovalRequest {
  /** Short, human-typable id (e.g. `R7K2QF9A`), used in `/qm requests cancel`. */
  id: string;
  kind: string;
  status: ApprovalStatus;
  requester: { platform: Platform; teamId: string; userId: string; orgUserId: string; email: string };
  workspaceId: string | null;
  workspaceName: string | null;
  payload: Record<string, unknown>;
  reason: string | null;
  /** One line saying what will happen, e.g. "Make bob@example.com developer for 2h". */
  summary: string;
  quorum: number;
  /** Snapshot of who may approve, as the policy said when the request was made. */
  approvers: Record<string, unknown>;
  policySource: string;
  createdAt: Date;
  expiresAt: Date;
  remindedAt: Date | null;
  decidedAt: Date | null;
  /** Org user id of the approver whose vote completed the quorum, or the denier / canceller. */
  decidedBy: string | null;
  executeAfter: Date | null;
  leaseUntil: Date | null;
  attempts: number;
  executedAt: Date | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

export interface ApprovalVote {
  requestId: string;
  voterOrgId: string;
  voterEmail: string;
  platform: Platform;
  userId: string;
  choice: 'approve' | 'deny';
  at: Date;
}

export interface VoteOutcome {
  /** `recorded`; `duplicate` (this member already voted); `closed` (no longer pending, or past its expiry). */
  vote: 'recorded' | 'duplicate' | 'closed';
  request: ApprovalRequest;
  votes: ApprovalVote[];
  /**
   * The transition this vote caused, if any (exactly one vote ever causes it). `expired` comes with `closed`: the
   * click came after the request's expiry time, before the expiry job had closed it, so the vote closed it instead.
   */
  transitioned: 'approved' | 'denied' | 'expired' | null;
}

export interface ApprovalCardRef {
  requestId: string;
  platform: Platform;
  teamId: string;
  channelId: string;
  messageId: string;
}

export interface AccessGrant {
  id: string;
  requestId: string;
  kind: 'jit_key' | 'role_elevation';
  orgUserId: string;
  workspaceId: string | null;
  previousRole: string | null;
  grantedRole: string;
  grantedAt: Date;
  expiresAt: Date;
  status: 'active' | 'bound' | 'revoked' | 'expired' | 'failed';
  boundKeyId: string | null;
  revokedAt: Date | null;
  note: string | null;
}

export interface KeyBinding {
  keyId: string;
  requestId: string;
  ownerOrgId: string;
  approverOrgId: string | null;
  workspaceId: string | null;
  boundAt: Date;
  expiresAt: Date | null;
  replacesKeyId: string | null;
  replacedAt: Date | null;
  /** Set once Quartermaster has acted on `expiresAt` (the key set inactive). */
  expiryEnforcedAt?: Date | null;
}

/**
 * A Slack workspace (or Enterprise Grid org) that installed the app through OAuth. The installation itself,
 * which carries the bot token, is an opaque ciphertext here: the Slack adapter encrypts and decrypts it.
 */
export interface SlackInstallationRecord {
  /** `enterprise:<id>` for an org-wide install, else `team:<id>`. */
  key: string;
  teamId: string | null;
  enterpriseId: string | null;
  botUserId: string | null;
  scopes: string[];
  installedAt: Date;
  ciphertext: string;
}

export interface Store {
  links: {
    find(platform: Platform, teamId: string, userId: string): Promise<IdentityLink | null>;
    /** Create or replace the link for that chat account. */
    upsert(link: IdentityLink): Promise<IdentityLink>;
    remove(platform: Platform, teamId: string, userId: string): Promise<boolean>;
    listForOrgUser(orgUserId: string): Promise<IdentityLink[]>;
    /** Loads what `find` serves from memory, so the first commands after start-up do not pay for it. */
    preload(): Promise<void>;
  };

  directory: {
    /**
     * Replace the synced copy of the organization with the snapshot, in one transaction serialized with every
     * other replace: the stored rows are compared with the snapshot and only the difference is written (rows no
     * longer present deleted, new ones inserted, changed ones rewritten), in chunks. A null part is kept as stored.
     */
    replace(snapshot: DirectorySnapshot): Promise<DirectoryReplaced>;
    /**
     * Upsert a subset without deleting anything else (used after a live read or a single change). Rows equal to
     * the stored ones are not written; when anything is, the copy's `changedAt` moves (see DirectoryVersion).
     */
    upsertUsers(users: OrgUser[]): Promise<void>;
    upsertWorkspaces(workspaces: Workspace[]): Promise<void>;
    upsertApiKeys(keys: ApiKey[]): Promise<void>;
    replaceWorkspaceMembers(workspaceId: string, members: WorkspaceMember[]): Promise<void>;
    lastSyncedAt(): Promise<Date | null>;
    /** One query: what identifies the stored copy as it is now (a read model compares it with its own). */
    version(): Promise<DirectoryVersion>;
    /** The whole stored copy (invites aside), read in chunks, consistent with the version it returns. */
    load(): Promise<DirectoryData>;
    getUser(orgUserId: string): Promise<OrgUser | null>;
    /** Case-insensitive on both SQLite and PostgreSQL. */
    findUserByEmail(email: string): Promise<OrgUser | null>;
    listUsers(): Promise<OrgUser[]>;
    listWorkspaces(): Promise<Workspace[]>;
    /** Memberships of one org user, across all synced workspaces. */
    membershipsOf(orgUserId: string): Promise<WorkspaceMember[]>;
    listApiKeys(): Promise<ApiKey[]>;
  };

  linkRequests: {
    /**
     * Files a pending request, unless the requester (`requesterKey`: the chat account's identity across teams,
     * e.g. `discord:<user id>`) already has one pending, its platform and team already have `maxPendingPerTeam`
     * pending, or its platform has `maxPendingPerPlatform` pending in all. Pending requests created before
     * `staleBefore` are cancelled first (they expired unanswered). The one-per-requester rule and both caps hold
     * under concurrent calls on both databases (a concurrent call near a cap may be refused, never let past it).
     */
    create(
      input: Pick<LinkRequest, 'platform' | 'teamId' | 'userId' | 'email' | 'orgUserId'> & { requesterKey: string },
      limits: { staleBefore: Date; maxPendingPerTeam: number; maxPendingPerPlatform: number },
    ): Promise<
      | { filed: LinkRequest }
      | { refused: 'requester_pending'; pending: LinkRequest | null }
      | { refused: 'team_full' }
      | { refused: 'platform_full' }
    >;
    get(id: string): Promise<LinkRequest | null>;
    /**
     * pending → approved | denied, exactly once: returns the updated request, or null when it was no longer
     * pending (someone else decided first). Safe under concurrent calls on both databases.
     */
    decide(
      id: string,
      decision: { status: 'approved' | 'denied'; decidedBy: string; decidedAt: Date },
    ): Promise<LinkRequest | null>;
    setMessage(id: string, channelId: string, messageId: string): Promise<void>;
  };

  rateLimits: {
    /**
     * Counts one attempt under `key` unless `limit` attempts are already counted in the `windowMs` before `now`;
     * a refused attempt is not counted, and `retryAt` says when the oldest counted one leaves the window. Holds
     * under concurrent calls on both databases: of any number of simultaneous attempts, at most `limit` count.
     */
    hit(
      key: string,
      limit: number,
      windowMs: number,
      now: Date,
    ): Promise<{ allowed: true } | { allowed: false; retryAt: Date }>;
  };

  actionTokens: {
    /** Stores what a button means and returns its opaque id (at most 100 characters, Discord's custom_id limit). */
    create(input: { kind: string; subjectId: string; choice: string }): Promise<string>;
    get(id: string): Promise<ActionToken | null>;
    /** The subjects that have buttons of this kind (for collecting the buttons of finished subjects). */
    subjects(kind: string): Promise<string[]>;
    /** Deletes every button of this kind for these subjects; returns how many. */
    deleteFor(kind: string, subjectIds: readonly string[]): Promise<number>;
  };

  approvals: {
    create(
      input: Omit<
        ApprovalRequest,
        | 'id'
        | 'status'
        | 'remindedAt'
        | 'decidedAt'
        | 'decidedBy'
        | 'executeAfter'
        | 'leaseUntil'
        | 'attempts'
        | 'executedAt'
        | 'result'
        | 'error'
      > & {
        /** `approved` when policy lets the requester act directly (queued for execution at once). */
        status?: 'pending' | 'approved';
      },
    ): Promise<ApprovalRequest>;
    get(id: string): Promise<ApprovalRequest | null>;
    /** Newest first. */
    list(filter: {
      statuses?: ApprovalStatus[];
      requesterOrgId?: string;
      kinds?: string[];
      limit: number;
    }): Promise<ApprovalRequest[]>;
    /** How many requests there are in each status, counted by the database (one grouped query). */
    countByStatus(): Promise<Partial<Record<ApprovalStatus, number>>>;
    votes(requestId: string): Promise<ApprovalVote[]>;
    /**
     * Records a vote and decides, in one transaction that serializes concurrent voters on both databases:
     * a deny closes the request as denied; approvals reaching the quorum make it approved (queued for execution).
     */
    vote(vote: ApprovalVote, quorum: number): Promise<VoteOutcome>;
    /** pending → cancelled | expired, exactly once; null when it was no longer pending. */
    close(id: string, to: 'cancelled' | 'expired', at: Date, by: string | null): Promise<ApprovalRequest | null>;
    /**
     * Claims the reminder of a pending request that was not reminded yet (a conditional update): true for exactly
     * one caller, whatever the number of replicas or re-runs, so the reminder is sent once.
     */
    markReminded(id: string, at: Date): Promise<boolean>;
    /** Pending requests whose expiry is before `before`. */
    pendingExpiringBefore(before: Date): Promise<ApprovalRequest[]>;
    addCard(card: ApprovalCardRef): Promise<void>;
    cards(requestId: string): Promise<ApprovalCardRef[]>;
    /**
     * The durable outbox: claims one request that is approved and due (or executing with an expired lease, i.e.
     * its runner died), moving it to executing with a lease. Exactly one caller gets each claim.
     */
    claimExecution(now: Date, leaseMs: number): Promise<ApprovalRequest | null>;
    /**
     * executing → done | failed (terminal), fenced on the claim: only while the request is still executing under
     * the claim that returned `attempts`. Null when the fence did not hold (the lease lapsed and another runner
     * took the request over, or it already finished): the caller must then report nothing.
     */
    finishExecution(
      id: string,
      attempts: number,
      outcome: { status: 'done' | 'failed'; result: Record<string, unknown> | null; error: string | null; at: Date },
    ): Promise<ApprovalRequest | null>;
    /** executing → approved, to be tried again after `executeAfter`; fenced like finishExecution (false: not held). */
    retryExecution(id: string, attempts: number, executeAfter: Date, error: string): Promise<boolean>;
    /**
     * Extends the lease of a claim still being worked on to `until`, fenced like finishExecution; false when the
     * claim is no longer this runner's.
     */
    renewExecutionLease(id: string, attempts: number, until: Date): Promise<boolean>;
    /**
     * Rewrites the stored result of a request (e.g. follow-up work done after it finished), as a compare-and-set:
     * `update` gets the current result and returns the new one, or null to leave it. Concurrent callers are
     * serialized, so exactly one of them sees a given result. Returns the updated request, or null when
     * `update` declined (or the request does not exist).
     */
    updateResult(
      id: string,
      update: (current: Record<string, unknown> | null) => Record<string, unknown> | null,
    ): Promise<ApprovalRequest | null>;
  };

  grants: {
    create(grant: AccessGrant): Promise<AccessGrant>;
    get(id: string): Promise<AccessGrant | null>;
    forRequest(requestId: string): Promise<AccessGrant[]>;
    /** Grants in one of the statuses (e.g. active ones to watch or expire). */
    list(statuses: AccessGrant['status'][]): Promise<AccessGrant[]>;
    /** Conditional status change (from → to); false when the grant was not in `from` (someone else got there first). */
    transition(
      id: string,
      from: AccessGrant['status'],
      to: AccessGrant['status'],
      patch?: Partial<Pick<AccessGrant, 'boundKeyId' | 'revokedAt' | 'note'>>,
    ): Promise<boolean>;
  };

  keyBindings: {
    create(binding: KeyBinding): Promise<KeyBinding>;
    get(keyId: string): Promise<KeyBinding | null>;
    list(): Promise<KeyBinding[]>;
    markReplaced(keyId: string, at: Date): Promise<void>;
    /** Claims the expiry of a binding exactly once (null → at); false when someone else already did. `null` releases it. */
    claimExpiry(keyId: string, at: Date | null): Promise<boolean>;
  };

  leases: {
    /** Takes or renews the named lease for `holder` when it is free or expired; false when another holder has it. */
    acquire(name: string, holder: string, until: Date, now: Date): Promise<boolean>;
    release(name: string, holder: string): Promise<void>;
    /** Extends a lease this holder still has; false when it lapsed and another holder took it. */
    renew(name: string, holder: string, until: Date): Promise<boolean>;
  };

  slackInstallations: {
    /** Create or replace the installation under its key (a reinstall replaces the token and scopes). */
    save(record: SlackInstallationRecord): Promise<void>;
    find(key: string): Promise<SlackInstallationRecord | null>;
    /** False when there was nothing to delete. */
    delete(key: string): Promise<boolean>;
  };

  audit: {
    /** Append-only: there is no update or delete. */
    append(entry: AuditEntryInput): Promise<AuditEntry>;
    /** Newest first. */
    list(query: { limit: number; offset?: number }): Promise<{ entries: AuditEntry[]; total: number }>;
    /** Writes every entry appended so far (appends are group-committed a few at a time). */
    flush(): Promise<void>;
  };

  /** The ingested usage, cost and Claude Code reports, aggregated by the database (read side). */
  spendQueries: SpendQueries;

  health: {
    /** Throws when the database cannot be reached. */
    ping(): Promise<void>;
    /** Names of migrations in the repository that the database has not applied (empty when up to date). */
    pendingMigrations(): Promise<string[]>;
  };

  close(): Promise<void>;

  digests: DigestStore;
  spend: SpendWrites;
  /** Budgets, their threshold alerts and enforcements, runaway-spend episodes (issue 10). */
  limits: LimitsStore;
  /** Leak incidents, their sightings, webhook deliveries and the server's own secrets (issue 11). */
  leaks: LeaksStore;
}
