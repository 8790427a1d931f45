/**
 * Linking chat accounts whose platform shares no email (Discord, or Slack without users:read.email):
 * the user asks with `/qm link email:…`, an org admin approves or denies on the card. The decision is
 * re-checked at the click (the clicker must be a linked org admin now, and not the requester) and
 * happens exactly once, however many clicks arrive.
 *
 * Asking must not tell an unlinked user who is a member of the organization: the requester gets the same
 * answer whether or not the email matches, the match is looked up in the synced directory only (no Admin API
 * call per try), and only the admins' card (in the policy's approvers' channel) says whether it matched. Each
 * chat user may ask a few times an hour and have one request pending, counted across servers and workspaces
 * (a Discord user id is the same in every server, and anyone can add the bot to servers of their own); each
 * server or workspace, and each platform as a whole, has a cap on pending requests, so nobody can flood the
 * admins with cards.
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

/** `/qm link email:…` for oneself: at most this many tries per chat user in the window (stored, so per cluster). */
export const LINK_ATTEMPTS_LIMIT = 5;
export const LINK_ATTEMPTS_WINDOW_MS = 60 * 60_000;
/** At most this many link requests pending at once per Slack workspace or Discord server. */
export const MAX_PENDING_LINK_REQUESTS = 20;
/** At most this many pending at once per platform, whatever the number of workspaces or servers. */
export const MAX_PENDING_LINK_REQUESTS_PER_PLATFORM = 50;

/**
 * Who asks, the same in every server or workspace: a Discord user id is global; a Slack `U…` id belongs to
 * one workspace, while a `W…` id (Enterprise Grid) is the same person in every workspace of the enterprise.
 */
export function requesterKey(platform: Platform, teamId: string, userId: string): string {
  return platform === 'discord' || /^W/.test(userId) ? `${platform}:${userId}` : `${platform}:${teamId}:${userId}`;
}

/** The org member with that email: the synced directory first, then the live API (a new joiner). For admins. */
export async function findMemberByEmail(services: Services, email: string): Promise<OrgUser> {
  const member = await lookUpMember(services, email);
  if (!member) {
    throw new DomainError(
      'NOT_FOUND',
      `No member of the Anthropic organization has the email ${md.code(email)}. Check the address, or ask an org admin to invite it first.`,
    );
  }
  return member;
}

async function lookUpMember(services: Services, email: string): Promise<OrgUser | null> {
  const stored = await services.store.directory.findUserByEmail(email);
  if (stored) return stored;
  const live = (await services.admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
  if (!live) return null;
  await services.directory.upsertUsers([live]);
  return live;
}

/**
 * A chat user asks to act as the org member with `email`. The answer is the same whether or not the email
 * belongs to a member; refusals (too many tries, a request already pending, too many pending here) do not
 * depend on the email either.
 */
export async function requestLink(
  services: Services,
  requester: { platform: Platform; teamId: string; userId: string; channelId: string | null },
  email: string,
): Promise<Reply> {
  const { platform, teamId, userId } = requester;
  const now = services.clock.now();
  const who = requesterKey(platform, teamId, userId);
  const attempt = await services.store.rateLimits.hit(`link:${who}`, LINK_ATTEMPTS_LIMIT, LINK_ATTEMPTS_WINDOW_MS, now);
  if (!attempt.allowed) {
    const minutes = Math.max(1, Math.ceil((attempt.retryAt.getTime() - now.getTime()) / 60_000));
    throw new DomainError(
      'RATE_LIMITED',
      `You can ask to be linked ${LINK_ATTEMPTS_LIMIT} times an hour, and you have. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    );
  }
  // The synced directory only: an unlinked user must not cause an Admin API call per try. Someone who joined
  // since the last sync is looked up when an admin approves.
  const member = await services.store.directory.findUserByEmail(email);
  const policy = services.policy.resolve('link');
  const filed = await services.store.linkRequests.create(
    { platform, teamId, userId, email, orgUserId: member?.id ?? null, requesterKey: who },
    {
      staleBefore: new Date(now.getTime() - policy.expiresAfterMs),
      maxPendingPerTeam: MAX_PENDING_LINK_REQUESTS,
      maxPendingPerPlatform: MAX_PENDING_LINK_REQUESTS_PER_PLATFORM,
    },
  );
  if ('refused' in filed) {
    if (filed.refused === 'team_full') {
      throw new DomainError(
        'RATE_LIMITED',
        `${MAX_PENDING_LINK_REQUESTS} link requests here are already waiting for the org admins. Try again later, or ask an org admin to link you.`,
      );
    }
    if (filed.refused === 'platform_full') {
      throw new DomainError(
        'RATE_LIMITED',
        'Too many link requests are waiting for the org admins; try again later, or ask an org admin to link you.',
      );
    }
    throw new DomainError(
      'CONFLICT',
      `You already have a link request waiting for the org admins${filed.pending ? ` (to act as ${md.bold(filed.pending.email)})` : ''}. You will get a direct message when it is decided; until then you cannot file another.`,
    );
  }
  const request = filed.filed;
  const target = platform === 'playground' ? undefined : policy.channels[platform];
  const notifier = services.notifiers[platform];
  if (target && target !== requester.channelId && notifier) {
    try {
      const ref = await notifier.post(teamId, target, await linkRequestCard(services, request, { forAdmins: true }));
      await services.store.linkRequests.setMessage(request.id, ref.channelId, ref.messageId);
      return reply({
        title: 'Link request sent',
        text: `Your request to act as ${md.bold(email)} was sent to the org admins; you will get a direct message when it is decided.`,
      });
    } catch (err) {
      services.logger.warn(
        { err, channel: target, request: request.id },
        'could not post the link request card to the policy channel',
      );
    }
  }
  // No approvers' channel (or the bot cannot post there): the card goes where the request was made, so it must
  // not say whether the email matched.
  const card = await linkRequestCard(services, request, { forAdmins: false });
  return { ...card, track: (ref) => services.store.linkRequests.setMessage(request.id, ref.channelId, ref.messageId) };
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

/**
 * The card admins decide on. `forAdmins`: it is posted only where admins read (the approvers' channel), so it
 * may say whether the email matched an org member; otherwise it reads the same for any email.
 */
export async function linkRequestCard(
  services: Services,
  req: LinkRequest,
  opts: { forAdmins: boolean } = { forAdmins: false },
): Promise<Reply> {
  const who = mention(req.platform, req.userId);
  if (req.status === 'pending') {
    const [approve, deny] = await Promise.all([
      services.store.actionTokens.create({ kind: LINK_DECIDE, subjectId: req.id, choice: 'approve' }),
      services.store.actionTokens.create({ kind: LINK_DECIDE, subjectId: req.id, choice: 'deny' }),
    ]);
    const member = opts.forAdmins && req.orgUserId ? await services.store.directory.getUser(req.orgUserId) : null;
    const match = !opts.forAdmins
      ? []
      : [
          {
            type: 'context' as const,
            text: member
              ? `Matches the org member ${md.bold(member.email)} (org role ${md.code(member.role)}).`
              : 'No org member has this email in the synced directory. Approving looks it up once more (for someone who just joined); otherwise nothing is linked.',
          },
        ];
    return reply({
      visibility: 'in_channel',
      title: 'Link request',
      text: `${who} asks to act as the Anthropic org member ${md.bold(req.email)}.`,
      blocks: [
        ...match,
        {
          type: 'context',
          text: 'An org admin must approve. Approving lets this chat account act with that member’s org and workspace roles. The requester gets a direct message when it is decided.',
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
    const now = services.clock.now();
    if (now.getTime() - req.createdAt.getTime() > services.policy.resolve('link').expiresAfterMs) {
      return {
        outcome: 'failed',
        errorCode: 'EXPIRED',
        message: 'link request expired',
        notice: notice('This link request expired unanswered; the requester can ask again with `/qm link`.'),
      };
    }
    // Who the email belongs to now: the member matched when filed, or (for someone who joined since the last
    // directory sync) one live lookup, made by the admin's click rather than by the requester's tries.
    const member =
      choice === 'approve'
        ? ((req.orgUserId ? await services.store.directory.getUser(req.orgUserId) : null) ??
          (await lookUpMember(services, req.email)))
        : null;
    const status = member ? 'approved' : 'denied';
    const decided = await services.store.linkRequests.decide(req.id, {
      status,
      decidedBy: caller.orgUser.id,
      decidedAt: now,
    });
    if (!decided) {
      const current = (await services.store.linkRequests.get(req.id))!;
      return {
        outcome: 'failed',
        errorCode: 'CONFLICT',
        message: `already ${current.status}`,
        card: await linkRequestCard(services, current),
        notice: notice(`This request was already ${current.status}.`),
      };
    }
    if (member) {
      await linkDirectly(
        services,
        { platform: decided.platform, teamId: decided.teamId, userId: decided.userId },
        member,
        'admin',
      );
    }
    // The requester hears the decision, and (when nothing matched) only that it was not approved.
    await services.notifiers[decided.platform]
      ?.dm(
        decided.teamId,
        decided.userId,
        reply({
          tone: member ? 'success' : 'warning',
          text: member
            ? `Your request to act as ${md.bold(decided.email)} was approved: you now act as that Anthropic org member here.`
            : `Your request to act as ${md.bold(decided.email)} was not approved.`,
        }),
      )
      .catch((err: unknown) => services.logger.warn({ err, request: decided.id }, 'link decision DM failed'));
    if (choice === 'approve' && !member) {
      return {
        outcome: 'failed',
        errorCode: 'NOT_FOUND',
        message: 'no org member has that email; denied',
        card: await linkRequestCard(services, decided),
        notice: notice(
          `No member of the Anthropic organization has the email ${md.code(decided.email)}, so nothing was linked and the request was denied.`,
        ),
      };
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
