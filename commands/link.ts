import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { userOption } from '../src/core/command/options.js';
import { md, reply } from '../src/core/command/reply.js';
import { DomainError } from '../src/core/errors.js';
import { isLinked } from '../src/core/identity/caller.js';
import { findMemberByEmail, linkDirectly, mention, requestLink } from '../src/core/identity/link-requests.js';

export default defineCommand({
  path: ['link'],
  description: 'Link your chat account to your Anthropic org member (an admin approves); admins can link others',
  access: 'public',
  options: z.object({
    email: z
      .string()
      .trim()
      .max(254)
      .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an email address')
      .describe('The email of the Anthropic org member to act as'),
    user: userOption('Admins: the chat member to link (default: yourself)').optional(),
  }),
  positional: ['email'],
  examples: ['link email:you@example.com', 'link email:bob@example.com user:@bob'],
  // Linking someone else is an admin power: decided on the role as it is now, not the synced copy.
  liveRoleWhen: (options, caller) => options.user !== undefined && options.user !== caller.userId,
  async handler({ options, caller, services, invocation }) {
    if (caller.refused)
      throw new DomainError('FORBIDDEN', caller.unlinkedReason ?? 'This account cannot use Quartermaster.');
    const target = options.user ?? caller.userId;
    if (options.user && options.user !== caller.userId) {
      if (!isLinked(caller) || !caller.permissions.has('links:manage')) {
        throw new DomainError(
          'FORBIDDEN',
          'Only Anthropic org admins can link other people. Ask them to run `/qm link email:…` themselves.',
        );
      }
      const member = await findMemberByEmail(services, options.email);
      await linkDirectly(
        services,
        { platform: invocation.platform, teamId: invocation.teamId, userId: target },
        member,
        'admin',
      );
      return reply({
        tone: 'success',
        title: 'Linked',
        text: `${mention(invocation.platform, target)} now acts as ${md.bold(member.email)} (org role ${md.code(member.role)}).`,
      });
    }
    if (isLinked(caller) && caller.orgUser.email.toLowerCase() === options.email.toLowerCase()) {
      return reply({ text: `You are already linked to ${md.bold(caller.orgUser.email)}.` });
    }
    return requestLink(
      services,
      {
        platform: invocation.platform,
        teamId: invocation.teamId,
        userId: caller.userId,
        channelId: invocation.channelId,
      },
      options.email,
    );
  },
});
