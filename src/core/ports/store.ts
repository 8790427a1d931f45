/**
 * Persistence as the core sees it. Implemented by src/store/ (Prisma, SQLite or PostgreSQL).
 * The core never sees Prisma types: everything crossing this port is a plain object.
 */
import type { ApiKey, Invite, OrgUser, Workspace, WorkspaceMember } from './admin-api.js';

export type Platform = 'slack' | 'discord';

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

/** A chat user's request to be linked to an org member, decided by an org admin (Discord shares no email). */
export interface LinkRequest {
  id: string;
  platform: Platform;
  teamId: string;
  userId: string;
  email: string;
  orgUserId: string;
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

export interface Store {
  links: {
    find(platform: Platform, teamId: string, userId: string): Promise<IdentityLink | null>;
    /** Create or replace the link for that chat account. */
    upsert(link: IdentityLink): Promise<IdentityLink>;
    remove(platform: Platform, teamId: string, userId: string): Promise<boolean>;
    listForOrgUser(orgUserId: string): Promise<IdentityLink[]>;
  };

  directory: {
    /**
     * Replace the synced copy of the organization with the snapshot, in one transaction:
     * rows no longer present are deleted (or marked gone), the rest upserted.
     */
    replace(snapshot: DirectorySnapshot): Promise<void>;
    /** Upsert a subset without deleting anything else (used after a live list or a single change). */
    upsertUsers(users: OrgUser[]): Promise<void>;
    upsertWorkspaces(workspaces: Workspace[]): Promise<void>;
    upsertApiKeys(keys: ApiKey[]): Promise<void>;
    replaceWorkspaceMembers(workspaceId: string, members: WorkspaceMember[]): Promise<void>;
    lastSyncedAt(): Promise<Date | null>;
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
    /** Creates a pending request; an older pending request of the same chat account is cancelled. */
    create(input: Pick<LinkRequest, 'platform' | 'teamId' | 'userId' | 'email' | 'orgUserId'>): Promise<LinkRequest>;
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

  actionTokens: {
    /** Stores what a button means and returns its opaque id (at most 100 characters, Discord's custom_id limit). */
    create(input: { kind: string; subjectId: string; choice: string }): Promise<string>;
    get(id: string): Promise<ActionToken | null>;
  };

  audit: {
    /** Append-only: there is no update or delete. */
    append(entry: AuditEntryInput): Promise<AuditEntry>;
    /** Newest first. */
    list(query: { limit: number; offset?: number }): Promise<{ entries: AuditEntry[]; total: number }>;
  };

  health: {
    /** Throws when the database cannot be reached. */
    ping(): Promise<void>;
    /** Names of migrations in the repository that the database has not applied (empty when up to date). */
    pendingMigrations(): Promise<string[]>;
  };

  close(): Promise<void>;
}
