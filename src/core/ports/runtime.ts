/** Small ports every part of the core may use. pino satisfies Logger; tests may pass a fixed Clock. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Whether a found secret is a working Anthropic API key: src/anthropic/verify.ts asks the Models API with it (one
 * request, as GitHub's validity checks do). `invalid` when the API refuses it (a string rebuilt from a key's public
 * hint, a revoked or inactive key); `unknown` when it could not tell (network, 5xx, no verifier).
 */
export interface SecretVerifier {
  verify(secret: string): Promise<'valid' | 'invalid' | 'unknown'>;
}

/** Keyed hashing for the core (src/main.ts gives it node:crypto): leak fingerprints never hold the secret. */
export interface Hasher {
  /** Hex HMAC-SHA256 of `data` under `key`. */
  hmacSha256Hex(key: string, data: string): string;
  /** Compares two strings in constant time (false when their lengths differ). */
  timingSafeEqual(a: string, b: string): boolean;
}

/** What a chat platform can tell us about one of its users, for linking them to an org member. */
export interface ChatProfile {
  /** The profile email, or null when the platform does not share one (Discord never does). */
  email: string | null;
  /** True only when the platform vouches the address belongs to the user. */
  emailVerified: boolean;
  /** `member`, or why the account may not act: a guest, a user from another organization, a bot, a deactivated account. */
  kind: 'member' | 'guest' | 'external' | 'bot' | 'deleted';
  displayName: string | null;
}

/** Implemented by each chat adapter (Slack: users.info). */
export interface ChatDirectory {
  readonly platform: import('./store.js').Platform;
  lookupUser(teamId: string, userId: string): Promise<ChatProfile>;
}

/**
 * Posting and editing messages outside an interaction (cards updated after an execution, expiry, reminders,
 * DMs to requesters). Implemented by each chat adapter with its bot token.
 */
export interface ChatNotifier {
  readonly platform: import('./store.js').Platform;
  post(
    teamId: string,
    channelId: string,
    reply: import('../command/reply.js').Reply,
  ): Promise<import('../command/reply.js').MessageRef>;
  update(
    teamId: string,
    ref: import('../command/reply.js').MessageRef,
    reply: import('../command/reply.js').Reply,
  ): Promise<void>;
  /** A direct message to one user. */
  dm(teamId: string, userId: string, reply: import('../command/reply.js').Reply): Promise<void>;
  /**
   * Deletes a message someone else posted (a leaked key): Discord with Manage Messages, Slack only with
   * SLACK_ADMIN_USER_TOKEN. False when the platform or the bot's rights do not allow it. Absent: never possible.
   */
  deleteMessage?(teamId: string, channelId: string, messageId: string): Promise<boolean>;
  /** Discord only: the server's AutoMod rules (`/qm alerts automod`). */
  automod?: AutoModInstaller;
}

/** A keyword AutoMod rule that blocks messages matching its patterns before they are posted (Discord). */
export interface AutoModRule {
  /** The rule is found again by this name, so installing twice updates it. */
  name: string;
  /** Rust-flavoured regular expressions (at most 10, each at most 260 characters). */
  regexPatterns: string[];
  /** Shown to the member whose message was blocked (at most 150 characters). */
  blockMessage: string;
  /** Where Discord posts an alert with the blocked message; null for none. */
  alertChannelId: string | null;
}

export type AutoModOutcome =
  | { ok: true; created: boolean; id: string }
  /**
   * `missing_permissions`: the bot lacks Manage Server (Discord's 403); `invalid`: Discord refused the rule (its
   * field errors, in `detail`); `limit`: the server already has as many keyword rules as Discord allows.
   */
  | { ok: false; reason: 'missing_permissions' | 'invalid' | 'limit'; detail: string };

export interface AutoModInstaller {
  /** Creates the rule, or updates the server's rule of the same name. */
  install(teamId: string, rule: AutoModRule): Promise<AutoModOutcome>;
}

/** Who a piece of work is for: the queue is fair between workspaces and between the users of one workspace. */
export interface WorkOwner {
  platform: string;
  teamId: string;
  userId: string;
}

/**
 * Where the dispatcher runs commands and clicks once the adapter has acknowledged them: a bounded number at a
 * time, fair between users and workspaces, so a burst (or one user's slow commands) queues instead of starving
 * the acknowledgements of everyone else.
 */
export interface WorkQueue {
  /** Runs `work` when its turn comes; rejects with WorkRefused when the owner already has too much waiting. */
  run<T>(owner: WorkOwner, work: () => Promise<T>): Promise<T>;
  /** Work accepted but not started yet. */
  readonly waiting: number;
}

/** The owner already has the most work waiting that the queue takes from one user. */
export class WorkRefused extends Error {
  constructor(readonly waiting: number) {
    super(`already ${waiting} commands waiting`);
  }
}
