/**
 * Posting one alert card to several channels (a budget-less spend alert, a leak alert): each target is tried, a
 * failure is logged and counted, and the first post is the one kept, to be edited later.
 */
import type { MessageRef, Reply } from './command/reply.js';
import type { CardRef } from './ports/limits.js';
import type { Logger } from './ports/runtime.js';
import type { Platform } from './ports/store.js';
import type { Services } from './services.js';

export interface AlertTarget {
  platform: Platform;
  teamId: string;
  channelId: string;
}

/** The first post's reference (null when no target took it) and how many posts failed. */
export async function postToTargets(
  s: Services,
  targets: readonly AlertTarget[],
  card: Reply,
  log: Logger,
  what: string,
): Promise<{ first: CardRef | null; failed: number }> {
  let first: CardRef | null = null;
  let failed = 0;
  for (const t of targets) {
    try {
      const ref: MessageRef = await s.notifiers[t.platform]!.post(t.teamId, t.channelId, card);
      first ??= { platform: t.platform, teamId: t.teamId, ...ref };
    } catch (err) {
      failed++;
      log.error({ err, platform: t.platform, channel: t.channelId }, `posting ${what} failed`);
    }
  }
  return { first, failed };
}
