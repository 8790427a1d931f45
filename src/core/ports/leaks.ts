/**
 * Leak incidents as the core sees them (issue 11). src/store/leaks-store.ts implements it on Prisma. Nothing here
 * ever holds a secret: an incident has the key hint, a keyed fingerprint and where it was seen.
 */
import type { SecretKind } from '../leaks/detect.js';

/** The chat platforms (as in store.ts's Platform, which imports this module). */
type Platform = 'slack' | 'discord' | 'playground';

export type LeakSource = 'slack' | 'discord' | 'github' | 'gitleaks' | 'trufflehog';
export type IncidentStatus = 'open' | 'deactivated' | 'archived' | 'false_positive' | 'closed';

export interface LeakIncident {
  /** Short, human-typable id (8 characters of [0-9A-Z], like request ids). */
  id: string;
  /** Hex HMAC-SHA256 of the secret under the server secret `leak-fingerprint`. */
  fingerprint: string;
  /** `sk-ant-api03-R2D...igAA`. */
  hint: string;
  kind: SecretKind;
  /** The organization's key it matched by hint (null: no key of this organization, or not an API key). */
  apiKeyId: string | null;
  apiKeyName: string | null;
  workspaceId: string | null;
  status: IncidentStatus;
  autoDeactivated: boolean;
  firstSeenAt: Date;
  lastSeenAt: Date;
  sightingCount: number;
  closedAt: Date | null;
  /** Org user id, or 'policy' (auto-deactivation). */
  closedBy: string | null;
  closeReason: string | null;
  card: { platform: Platform; teamId: string; channelId: string; messageId: string } | null;
}

export interface LeakSighting {
  incidentId: string;
  source: LeakSource;
  /** Unique per source event (a redelivered webhook or a re-sent message event adds nothing). */
  sourceKey: string;
  /** Where, for people: `#channel` / `<#C0123>`, `owner/repo path:line`. */
  location: string;
  url: string | null;
  /** `slack:U0123`, `discord:1234`, a GitHub login or a commit author. */
  actor: string | null;
  seenAt: Date;
}

export type LeakIncidentInput = Pick<
  LeakIncident,
  'fingerprint' | 'hint' | 'kind' | 'apiKeyId' | 'apiKeyName' | 'workspaceId'
>;

export interface LeaksStore {
  /**
   * The named server secret (base64url of 32 random bytes), created by the first caller across replicas (an
   * INSERT on the unique name; a loser reads the winner's).
   */
  serverSecret(name: string): Promise<string>;
  /**
   * Records a sighting of a fingerprint: opens the incident when there is none (`created`; concurrent callers end
   * with one incident, one of them created), else joins it (lastSeenAt, sightingCount). A sighting whose sourceKey
   * was recorded before changes nothing (`duplicate`).
   */
  recordSighting(
    incident: LeakIncidentInput,
    sighting: Omit<LeakSighting, 'incidentId'>,
  ): Promise<{ incident: LeakIncident; created: boolean; duplicate: boolean }>;
  get(id: string): Promise<LeakIncident | null>;
  findByFingerprint(fingerprint: string): Promise<LeakIncident | null>;
  /** Newest activity first; `open` only, or all. */
  list(filter: {
    open?: boolean;
    limit: number;
    offset?: number;
  }): Promise<{ incidents: LeakIncident[]; total: number }>;
  sightings(incidentId: string): Promise<LeakSighting[]>;
  /** Incidents first seen in [from, to) (the digest's day). */
  firstSeenBetween(from: Date, to: Date): Promise<LeakIncident[]>;
  /**
   * Conditional status change: only from one of `from` (one caller wins); sets closedAt/closedBy/closeReason for
   * any status other than open. Returns the updated incident, or null when it was not in `from`.
   */
  transition(
    id: string,
    from: readonly IncidentStatus[],
    to: IncidentStatus,
    change: { at: Date; by: string; reason?: string | null; autoDeactivated?: boolean },
  ): Promise<LeakIncident | null>;
  setCard(id: string, card: NonNullable<LeakIncident['card']>): Promise<void>;
  /** Marks a webhook delivery processed: true the first time (across replicas), false for a redelivery. */
  firstDelivery(id: string, at: Date): Promise<boolean>;
}
