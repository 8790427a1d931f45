import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { usageOf } from '../src/core/command/dispatch.js';
import { md, reply } from '../src/core/command/reply.js';
import { isLinked } from '../src/core/identity/caller.js';

export default defineCommand({
  path: ['help'],
  description: 'Show what you can do with Quartermaster',
  access: 'public',
  options: z.object({}),
  async handler({ caller, registry, invocation }) {
    const prefix = invocation.commandText.split(' ')[0]!;
    const allowed = registry.commands.filter((c) => {
      const a = c.definition.access;
      if (a === 'public') return true;
      if (!isLinked(caller)) return false;
      return a === 'member' || caller.permissions.has(a);
    });
    const lines = allowed.map((c) => `${md.code(usageOf(prefix, c))}\n${md.escape(c.definition.description)}`);
    const intro = isLinked(caller)
      ? `You act as ${md.bold(caller.orgUser.email)} (org role ${md.bold(caller.orgUser.role)}). These are the commands you can run:`
      : `You are not linked to an Anthropic org member yet, so you can only run these. ${caller.unlinkedReason ?? ''}`;
    return reply({
      title: 'Quartermaster help',
      text: intro,
      blocks: [
        ...lines.map((text) => ({ type: 'text' as const, text })),
        { type: 'context', text: `Options go as ${md.code('name:value')}; put values with spaces in quotes.` },
      ],
      summary: `Quartermaster help: ${allowed.length} commands available`,
    });
  },
});
