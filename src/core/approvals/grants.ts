/**
 * Temporary access given by approved requests, taken back on schedule: time-boxed role elevations (and,
 * with key requests, just-in-time workspace grants). Each step is a conditional transition, so two
 * replicas running the job at once revert once.
 */
import { md, reply } from '../command/reply.js';
import type { AccessGrant } from '../ports/store.js';
import type { Services } from '../services.js';

/** Reverts every time-boxed org role whose time is up. Returns how many were reverted. */
export async function revertExpiredElevations(s: Services): Promise<number> {
  const now = s.clock.now();
  let n = 0;
  for (const g of await s.store.grants.list(['active'])) {
    if (g.kind !== 'role_elevation' || g.expiresAt > now) continue;
    if (!(await s.store.grants.transition(g.id, 'active', 'revoked', { revokedAt: now }))) continue;
    n++;
    await revertRole(s, g);
  }
  return n;
}

async function revertRole(s: Services, g: AccessGrant): Promise<void> {
  const request = await s.store.approvals.get(g.requestId);
  let text: string;
  try {
    const user = await s.admin.getUser(g.orgUserId);
    if (user.role !== g.grantedRole) {
      // Someone changed the role since: leave their decision alone.
      text = `The time-boxed ${md.code(g.grantedRole)} role of ${md.escape(user.email)} ended; their role had already been changed to ${md.code(user.role)}, so it was left as it is.`;
    } else {
      await s.admin.updateUserRole(g.orgUserId, g.previousRole ?? 'user');
      text = `The time-boxed ${md.code(g.grantedRole)} role of ${md.escape(user.email)} ended; they are ${md.code(g.previousRole ?? 'user')} again.`;
    }
    await s.store.audit.append({
      platform: 'system',
      teamId: null,
      actorId: 'grants',
      orgUserId: g.orgUserId,
      actorEmail: null,
      action: 'revert member.role',
      options: { request: g.requestId, to: g.previousRole },
      outcome: 'allowed',
      stage: 'run',
      errorCode: null,
      message: text,
      durationMs: 0,
    });
  } catch (err) {
    // Put it back so the next run tries again; the failure is in the log and the audit trail.
    await s.store.grants.transition(g.id, 'revoked', 'active', { revokedAt: null });
    s.logger.warn({ err, grant: g.id }, 'role revert failed; will retry');
    return;
  }
  await s.directory.sync().catch(() => undefined);
  if (request) {
    await s.notifiers[request.requester.platform]
      ?.dm(request.requester.teamId, request.requester.userId, reply({ text }))
      .catch(() => undefined);
  }
}
