/**
 * Resolves a chat account to the Anthropic org member it acts as. Slack links by the profile email
 * (unless Slack marks it unconfirmed); guests, external (Slack Connect) users, bots and deactivated
 * accounts are refused. Links made by an operator or an admin are kept as they are; every link is
 * re-checked against the synced directory, so a removed member loses access at the next refresh.
 */
import { describeAdminApiError } from '../admin-errors.js';
import { md } from '../command/reply.js';
import type { DirectoryService } from '../directory.js';
import type { DirectoryModel } from '../directory-model.js';
import { DomainError } from '../errors.js';
import { type AdminApi, AdminApiError, type OrgUser } from '../ports/admin-api.js';
import type { ChatDirectory, ChatProfile, Clock } from '../ports/runtime.js';
import type { IdentityLink, Platform, Store } from '../ports/store.js';
import type { Caller } from './caller.js';
import { permissionsForRole } from './permissions.js';

/** How long a link is trusted before the chat profile is looked up again. */
export const LINK_REFRESH_MS = 60 * 60_000;
/** How often an email missing from the synced directory may be looked up in the Admin API. */
export const LIVE_LOOKUP_INTERVAL_MS = 5 * 60_000;

export class IdentityResolver {
  constructor(
    private readonly store: Store,
    private readonly directory: DirectoryService,
    private readonly admin: AdminApi,
    private readonly clock: Clock,
  ) {}

  async resolve(platform: Platform, teamId: string, userId: string, chat: ChatDirectory | null): Promise<Caller> {
    const base: Caller = {
      platform,
      teamId,
      userId,
      displayName: null,
      link: null,
      orgUser: null,
      unlinkedReason: null,
      permissions: new Set(),
      memberships: [],
    };
    const directory = await this.directory.read();
    const now = this.clock.now();
    let link = await this.store.links.find(platform, teamId, userId);

    const stale = !link || now.getTime() - link.refreshedAt.getTime() > LINK_REFRESH_MS;
    let profile: ChatProfile | null = null;
    if (stale && chat) {
      profile = await chat.lookupUser(teamId, userId);
      base.displayName = profile.displayName;
      // Guests, external users, bots and deactivated accounts are refused whatever made their link: an operator
      // or admin link does not outlive the account becoming a guest.
      const refusal = refusalFor(profile.kind, platform);
      if (refusal) {
        if (link) await this.store.links.remove(platform, teamId, userId);
        return { ...base, unlinkedReason: refusal, refused: profile.kind as Caller['refused'] };
      }
    }
    // Email links are re-derived from the chat profile; operator/admin links have no profile email to check.
    if (profile && link && link.method !== 'slack_email') {
      link = await this.store.links.upsert({ ...link, refreshedAt: now });
    } else if (profile) {
      if (!profile.email || !profile.emailVerified) {
        if (link) await this.store.links.remove(platform, teamId, userId);
        return {
          ...base,
          unlinkedReason: profile.email
            ? `Your ${label(platform)} email is not confirmed, so Quartermaster cannot match it to an Anthropic org member. Confirm your email, or ask an operator to link you.`
            : `${label(platform)} did not share your email address with Quartermaster, so it cannot tell which Anthropic org member you are. An operator can link you with \`npx quartermaster link ${platform} ${teamId} ${userId} you@example.com\`.`,
        };
      }
      const orgUser = await this.findOrgUser(profile.email, directory);
      if (!orgUser) {
        if (link) await this.store.links.remove(platform, teamId, userId);
        return {
          ...base,
          unlinkedReason: `No member of the Anthropic organization has the email ${md.escape(profile.email)}. Ask an org admin to invite you (\`/qm members invite\`), then try again.`,
        };
      }
      link = await this.store.links.upsert({
        platform,
        teamId,
        userId,
        orgUserId: orgUser.id,
        email: orgUser.email,
        method: 'slack_email',
        linkedAt: link?.orgUserId === orgUser.id ? link.linkedAt : now,
        refreshedAt: now,
      });
    }

    if (!link) {
      return {
        ...base,
        unlinkedReason:
          platform === 'discord'
            ? 'Your Discord account is not linked to an Anthropic org member yet. Ask to be linked with `/qm link email:you@example.com`.'
            : 'Your chat account is not linked to an Anthropic org member yet.',
      };
    }

    // The read model first; the store only for a member it does not know yet (e.g. one the CLI's `link` just
    // looked up live), so a caller costs no directory query.
    const orgUser = directory.user(link.orgUserId) ?? (await this.store.directory.getUser(link.orgUserId));
    if (!orgUser) {
      return {
        ...base,
        link: null,
        unlinkedReason: `Your chat account was linked to ${md.escape(link.email)}, who is no longer a member of the Anthropic organization.`,
      };
    }
    return this.linkedCaller(base, link, orgUser, directory);
  }

  /**
   * The caller with their org role read live from the Admin API (users.retrieve), for anything that changes the
   * organization or shows the audit log: the synced copy may be minutes old, and a demoted admin must not act on
   * it. The stored copy is updated too. When the API cannot answer, this refuses rather than trust the copy.
   */
  async confirmLive(caller: Caller): Promise<Caller> {
    if (!caller.orgUser || !caller.link) return caller;
    let live: OrgUser;
    try {
      live = await this.admin.getUser(caller.orgUser.id);
    } catch (err) {
      if (err instanceof AdminApiError && err.kind === 'not_found') {
        return {
          ...caller,
          link: null,
          orgUser: null,
          permissions: new Set(),
          memberships: [],
          unlinkedReason: `Your chat account was linked to ${md.escape(caller.orgUser.email)}, who is no longer a member of the Anthropic organization.`,
        };
      }
      const why = err instanceof AdminApiError ? ` ${describeAdminApiError(err)}` : '';
      throw new DomainError(
        'UPSTREAM_FAILED',
        `Quartermaster could not confirm your current org role with the Anthropic Admin API, so it did not run this; it never acts on a role it cannot confirm. Try again in a few minutes.${why}`,
      );
    }
    await this.directory.upsertUsers([live]);
    return { ...(await this.linkedCaller(caller, caller.link, live)), roleCheckedLive: true };
  }

  private async linkedCaller(
    base: Caller,
    link: IdentityLink,
    orgUser: OrgUser,
    directory?: DirectoryModel,
  ): Promise<Caller> {
    const memberships = (directory ?? (await this.directory.read())).membershipsOf(orgUser.id);
    return { ...base, link, orgUser, permissions: permissionsForRole(orgUser.role), memberships };
  }

  /**
   * The stored directory first; then the live API, for someone who joined since the last sync: at most once per
   * email every few minutes, so a chat user who is not a member does not cost an Admin API call per command.
   */
  private async findOrgUser(email: string, directory: DirectoryModel): Promise<OrgUser | null> {
    const stored = directory.userByEmail(email) ?? (await this.store.directory.findUserByEmail(email));
    if (stored) return stored;
    const lookup = await this.store.rateLimits.hit(
      `member-lookup:${email.toLowerCase()}`,
      1,
      LIVE_LOOKUP_INTERVAL_MS,
      this.clock.now(),
    );
    if (!lookup.allowed) return null;
    const live = (await this.admin.listUsers({ email })).find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (!live) return null;
    await this.directory.upsertUsers([live]);
    return live;
  }
}

function label(platform: Platform): string {
  return platform === 'slack' ? 'Slack' : platform === 'discord' ? 'Discord' : 'Playground';
}

function refusalFor(kind: string, platform: Platform): string | null {
  switch (kind) {
    case 'guest':
      return `Guest accounts cannot use Quartermaster. Ask a full member of this ${label(platform)} workspace to make the request.`;
    case 'external':
      return `Users from another organization (shared channels) cannot use Quartermaster here.`;
    case 'bot':
      return 'Bots cannot use Quartermaster.';
    case 'deleted':
      return 'This account is deactivated.';
    default:
      return null;
  }
}
