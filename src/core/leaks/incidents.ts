/**
 * The leak incident flow (issue 11), shared by chat scanning (Slack, Discord) and the intake webhooks (GitHub
 * secret scanning, gitleaks, trufflehog). A secret is held in memory only as long as it takes to fingerprint it
 * (HMAC-SHA256 under the server secret `leak-fingerprint`, through the Fingerprinter port: the core has no crypto
 * SDK of its own) and to take its hint; it is never stored, logged or repeated.
 *
 * reportSecret: fingerprint → resolve the key among the synced keys by its partial_key_hint (refresh the directory
 * once when nothing matches) → record the sighting (one incident per fingerprint; a sighting with a known
 * sourceKey is a duplicate and changes nothing) → for a new incident post the alert card (the policy's
 * `leaks.channels`, else the channel where it was seen, for chat sources) with Deactivate / Archive / False positive;
 * with `leaks.auto_deactivate` set the key inactive at once and say so on the card; for a joined incident update its
 * card (sightings count and the new place).
 *
 * reportChatMessage: scans a message's text (findSecrets), reports each secret, tells the poster privately what
 * happened and how to delete the message, and deletes it where the platform lets the bot (hooks.deleteMessage).
 *
 * Placeholder: the "leak core" helper implements it.
 */

import type { LeakIncident, LeakSighting } from '../ports/leaks.js';
import type { Services } from '../services.js';
import type { SecretKind } from './detect.js';

export interface SecretReport {
  /** The secret itself: fingerprinted and hinted here, then dropped. */
  secret: string;
  kind: SecretKind;
  sighting: Omit<LeakSighting, 'incidentId'>;
}

export interface ReportOutcome {
  incident: LeakIncident;
  created: boolean;
  duplicate: boolean;
}

export async function reportSecret(_s: Services, _r: SecretReport): Promise<ReportOutcome> {
  throw new Error('reportSecret: not implemented yet (issue 11, helper "leak core")');
}

/** A chat message as an adapter saw it (new, edited, a thread reply, or a file snippet's text). */
export interface ChatMessageSeen {
  platform: 'slack' | 'discord';
  teamId: string;
  channelId: string;
  /** Slack ts, Discord message id. */
  messageId: string;
  /** The poster's chat user id (bots and the app itself are skipped by the adapter). */
  userId: string;
  /** All the text to scan: the message, its attachments' and blocks' text, a snippet's content. */
  text: string;
  /** A link to the message, when the platform gives one. */
  permalink: string | null;
  edited: boolean;
}

export interface ChatMessageHooks {
  /** Deletes the message (Discord with Manage Messages; Slack with SLACK_ADMIN_USER_TOKEN); false when it cannot. */
  deleteMessage?: () => Promise<boolean>;
}

export async function reportChatMessage(
  _s: Services,
  _m: ChatMessageSeen,
  _hooks: ChatMessageHooks = {},
): Promise<{ secrets: number; incidents: ReportOutcome[] }> {
  throw new Error('reportChatMessage: not implemented yet (issue 11, helper "leak core")');
}
