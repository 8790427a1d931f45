import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { userOption } from '../src/core/command/options.js';
import { md, reply } from '../src/core/command/reply.js';
import { DomainError } from '../src/core/errors.js';
import { mention } from '../src/core/identity/link-requests.js';

export default defineCommand({
  path: ['unlink'],
  description: 'Unlink your chat account from its Anthropic org member, or unlink someone (admins)',
  access: 'member',
  options: z.object({
    user: userOption('Admins: the chat member to unlink (default: yourself)').optional(),
  }),
  async handler({ options, caller, services, invocation }) {
    const target = options.user ?? caller.userId;
    if (target !== caller.userId && !caller.permissions.has('links:manage')) {
      throw new DomainError('FORBIDDEN', 'Only Anthropic org admins can unlink other people.');
    }
    const removed = await services.store.links.remove(invocation.platform, invocation.teamId, target);
    if (!removed) throw new DomainError('NOT_FOUND', `${mention(invocation.platform, target)} is not linked.`);
    return reply({
      tone: 'success',
      title: 'Unlinked',
      text:
        target === caller.userId
          ? `Your chat account no longer acts as ${md.bold(caller.orgUser!.email)}.`
          : `${mention(invocation.platform, target)} is no longer linked.`,
    });
  },
});
