/**
 * Scheduled delivery of digest subscriptions (job `digests.send`, every minute on every replica) and the one-off
 * send of the CLI. For each subscription the cron matcher says when its local time last came (in its IANA zone,
 * looking back at most CATCH_UP_MS, so a digest missed while the bot was down still goes out); the
 * (subscription, period) row is claimed (exactly one replica wins), the digest for the last complete UTC day is
 * composed and posted, and the row is marked sent, or released after a failure so the next run tries again.
 */
import { randomUUID } from 'node:crypto';
import type { Reply } from '../command/reply.js';
import { DomainError } from '../errors.js';
import { permissionsForRole } from '../identity/permissions.js';
import type { Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import { composeDigest } from './digest-compose.js';
import { CATCH_UP_MS, cronExpression, lastCompleteUtcDay, periodOf, STALE_CLAIM_MS } from './digest-schedule.js';

export interface DigestRunSummary {
  sent: number;
  failed: number;
}

export async function sendDueDigests(s: Services): Promise<DigestRunSummary> {
  const out: DigestRunSummary = { sent: 0, failed: 0 };
  if (!s.schedule) return out;
  const log = s.logger.child({ job: 'digests.send' });
  const holder = randomUUID();
  // Every subscription gets the same organization-wide digest of a day: composed (and its chart rendered) once.
  const composed = new Map<number, Promise<Reply>>();
  const compose = (day: Date) => {
    let p = composed.get(day.getTime());
    if (!p) {
      p = composeDigest(s, day, { chart: true });
      composed.set(day.getTime(), p);
    }
    return p;
  };
  const subs = await s.store.digests.list();
  for (const sub of subs) {
    const now = s.clock.now();
    const notifier = s.notifiers[sub.platform];
    if (!notifier) continue;
    const fire = s.schedule.lastFire(cronExpression(sub), sub.timezone, now, CATCH_UP_MS);
    // Only times that came after the subscription was made (a new subscription does not send at once).
    if (!fire || fire.getTime() < sub.createdAt.getTime()) continue;
    const period = periodOf(sub, fire);
    const known = await s.store.digests.delivery(sub.id, period);
    if (known && (known.sentAt || now.getTime() - known.claimedAt.getTime() <= STALE_CLAIM_MS)) continue;
    // The subscription carries its subscriber's right to org-wide numbers: checked at every send, so a
    // subscriber who lost billing or admin (or left) stops the digest until someone who may subscribes again.
    const subscriber = (await s.directory.read()).user(sub.createdBy);
    if (!subscriber || !permissionsForRole(subscriber.role).has('digests:manage')) {
      log.warn(
        { subscription: sub.id, platform: sub.platform, channel: sub.channelId, period },
        'the subscriber no longer holds billing or admin: digest not sent (subscribe again to take it over)',
      );
      continue;
    }
    const day = lastCompleteUtcDay(fire);
    // Composed before the claim, which then covers only the post: composing may first sync the reports (minutes,
    // for a large organization), and a claim held that long would be taken over as stale and the digest sent twice.
    let message: Reply;
    try {
      message = await compose(day);
    } catch (err) {
      out.failed++;
      log.error({ err, subscription: sub.id, period }, 'composing a digest failed; the next run tries again');
      continue;
    }
    if (!(await s.store.digests.claim(sub.id, period, holder, s.clock.now(), STALE_CLAIM_MS))) continue;
    try {
      await notifier.post(sub.teamId, sub.channelId, message);
    } catch (err) {
      out.failed++;
      log.error(
        { err, subscription: sub.id, platform: sub.platform, channel: sub.channelId, period },
        'sending a digest failed; the next run tries again',
      );
      await s.store.digests
        .release(sub.id, period, holder)
        .catch((e) => log.warn({ err: e, subscription: sub.id, period }, 'releasing a digest claim failed'));
      continue;
    }
    const marked = await s.store.digests.markSent(sub.id, period, holder, s.clock.now());
    if (!marked) log.warn({ subscription: sub.id, period }, 'a digest was sent after its claim went stale');
    out.sent++;
    log.info({ subscription: sub.id, platform: sub.platform, channel: sub.channelId, period }, 'digest sent');
  }
  return out;
}

/** Posts one digest now (the CLI's `digest send`), outside any subscription. */
export async function sendDigestNow(
  s: Services,
  o: { platform: Platform; teamId: string; channelId: string; day?: Date },
): Promise<{ day: Date; messageId: string }> {
  const notifier = s.notifiers[o.platform];
  if (!notifier) {
    throw new DomainError(
      'INVALID_INPUT',
      o.platform === 'slack'
        ? 'Slack is not configured: set SLACK_BOT_TOKEN (or the OAuth install) to post to a Slack channel.'
        : 'Discord is not configured: set DISCORD_TOKEN to post to a Discord channel.',
    );
  }
  const day = o.day ?? lastCompleteUtcDay(s.clock.now());
  const message = await composeDigest(s, day, { chart: true });
  const ref = await notifier.post(o.teamId, o.channelId, message);
  return { day, messageId: ref.messageId };
}
