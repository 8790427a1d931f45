/**
 * Linking chat accounts whose platform shares no email (Discord, or Slack without users:read.email):
 * the user asks with `/qm link email:…`, an org admin approves or denies on the card. The decision is
 * re-checked at the click (the clicker must be a linked org admin now, and not the requester) and
 * happens exactly once, however many clicks arrive.
 */
import type { ActionDefinition, ActionResult } from '../command/actions.js';
import { md, type Reply, reply } from '../command/reply.js';
import { DomainError } from '../errors.js';
import type { OrgUser } from '../ports/admin-api.js';
import { AdminApiError } from '../ports/admin-api.js';
import type { LinkRequest, Platform } from '../ports/store.js';
import type { Services } from '../services.js';
import { isLinked } from './caller.js';
import { permissionsForRole } from './permissions.js';

export const LINK_DECIDE = 'link.decide';

/** The org member with that email: the synced directory first, then the live API (a new joiner). */
export async function findMemberByEmail(services: Services, email: string): Promise<OrgUser> {
  const stored = await services.store.directory.findUserByEmail(email);
  if (stored) return stored;
  const live = (await services.admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
  if (!live) {
    throw new DomainError(
      'NOT_FOUND',
      `No member of the Anthropic organization has the email ${md.code(email)}. Check the address, or ask an org admin to invite it first.`,
    );
  }
  await services.store.directory.upsertUsers([live]);
  return live;
}

export async function linkDirectly(
  services: Services,
  target: { platform: Platform; teamId: string; userId: string },
  member: OrgUser,
  method: 'admin' | 'operator',
): Promise<void> {
  const now = services.clock.now();
  await services.store.links.upsert({
    ...target,
    orgUserId: member.id,
    email: member.email,
    method,
    linkedAt: now,
    refreshedAt: now,
  });
}

export function mention(_platform: Platform, userId: string): string {
  return md.mention(userId);
}

export async function linkRequestCard(services: Services, req: LinkRequest): Promise<Reply> {
  const who = mention(req.platform, req.userId);
  if (req.status === 'pending') {
    const [approve, deny] = await Promise.all([
      services.store.actionTokens.create({ kind: LINK_DECIDE, subjectId: req.id, choice: 'approve' }),
      services.store.actionTokens.create({ kind: LINK_DECIDE, subjectId: req.id, choice: 'deny' }),
    ]);
    return reply({
      visibility: 'in_channel',
      title: 'Link request',
      text: `${who} asks to act as the Anthropic org member ${md.bold(req.email)}.`,
      blocks: [
        {
          type: 'context',
          text: 'An org admin must approve. Approving lets this chat account act with that member’s org and workspace roles.',
        },
        {
          type: 'actions',
          buttons: [
            { id: approve, label: 'Approve', style: 'primary' },
            { id: deny, label: 'Deny', style: 'danger' },
          ],
        },
      ],
      summary: `Link request: ${req.email}`,
    });
  }
  const decided = req.decidedAt ? ` on ${req.decidedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC` : '';
  const by = req.decidedBy
    ? ((await services.store.directory.getUser(req.decidedBy))?.email ?? req.decidedBy)
    : 'someone';
  const verdict = req.status === 'approved' ? 'Approved' : req.status === 'denied' ? 'Denied' : 'Cancelled';
  return reply({
    visibility: 'in_channel',
    tone: req.status === 'approved' ? 'success' : 'warning',
    title: `Link request ${verdict.toLowerCase()}`,
    text: `${who} asked to act as ${md.bold(req.email)}.`,
    blocks: [{ type: 'context', text: `${verdict} by ${md.escape(by)}${decided}.` }],
    summary: `Link request ${verdict.toLowerCase()}: ${req.email}`,
  });
}

export const linkDecideAction: ActionDefinition = {
  kind: LINK_DECIDE,
  async handler({ caller, services, subjectId, choice }): Promise<ActionResult> {
    const req = await services.store.linkRequests.get(subjectId);
    if (!req) {
      return {
        outcome: 'failed',
        errorCode: 'NOT_FOUND',
        message: 'link request not found',
        notice: notice('This link request no longer exists.'),
      };
    }
    // Re-check the clicker's org role live (not the synced copy): linking decides who acts as whom.
    const live = isLinked(caller)
      ? await services.admin.getUser(caller.orgUser.id).catch((err: unknown) => {
          if (err instanceof AdminApiError && err.kind === 'not_found') return null;
          throw err;
        })
      : null;
    if (!isLinked(caller) || !live || !permissionsForRole(live.role).has('links:manage')) {
      return {
        outcome: 'denied',
        errorCode: isLinked(caller) ? 'FORBIDDEN' : 'UNLINKED',
        message: 'only org admins decide link requests',
        notice: notice('Only Anthropic org admins can decide link requests.'),
      };
    }
    if (req.platform === caller.platform && req.teamId === caller.teamId && req.userId === caller.userId) {
      return {
        outcome: 'denied',
        errorCode: 'SELF_APPROVAL',
        message: 'requester tried to decide their own link request',
        notice: notice('You cannot decide your own link request.'),
      };
    }
    if (req.status !== 'pending') {
      return {
        outcome: 'failed',
        errorCode: 'CONFLICT',
        message: `already ${req.status}`,
        card: await linkRequestCard(services, req),
        notice: notice(`This request was already ${req.status}.`),
      };
    }
    const status = choice === 'approve' ? 'approved' : 'denied';
    const decided = await services.store.linkRequests.decide(req.id, {
      status,
      decidedBy: caller.orgUser.id,
      decidedAt: services.clock.now(),
    });
    if (!decided) {
      const now = (await services.store.linkRequests.get(req.id))!;
      return {
        outcome: 'failed',
        errorCode: 'CONFLICT',
        message: `already ${now.status}`,
        card: await linkRequestCard(services, now),
        notice: notice(`This request was already ${now.status}.`),
      };
    }
    if (status === 'approved') {
      const member = await services.store.directory.getUser(decided.orgUserId);
      if (!member) {
        return {
          outcome: 'failed',
          errorCode: 'NOT_FOUND',
          message: 'member left the org',
          card: await linkRequestCard(services, decided),
          notice: notice(`${md.escape(decided.email)} is no longer a member of the organization; nothing was linked.`),
        };
      }
      await linkDirectly(
        services,
        { platform: decided.platform, teamId: decided.teamId, userId: decided.userId },
        member,
        'admin',
      );
    }
    return {
      outcome: 'allowed',
      message: `${status} link of ${decided.userId} to ${decided.email}`,
      card: await linkRequestCard(services, decided),
    };
  },
};

function notice(text: string): Reply {
  return reply({ tone: 'warning', text });
}
