import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, pageFooter, paginate, reply } from '../../src/core/command/reply.js';
import { KNOWN_ORG_ROLES } from '../../src/core/identity/permissions.js';
import { asOf } from '../format.js';

const PAGE_SIZE = 25;

export default defineCommand({
  path: ['members', 'list'],
  description: 'List the members of the Anthropic organization',
  access: 'members:read',
  readOnly: true,
  options: z.object({
    role: z.enum(KNOWN_ORG_ROLES).optional().describe('Only members with this org role'),
    page: z.number().int().min(1).max(1000).optional().describe('Page of the list to show'),
  }),
  positional: ['role'],
  examples: ['members list', 'members list developer'],
  async handler({ options, services, invocation }) {
    // Served from the synced directory, see asOf.
    const directory = await services.directory.forList();
    const users = directory
      .listUsers()
      // Already in email order (case-insensitive) from the directory.
      .filter((u) => !options.role || u.role === options.role);
    const p = paginate(users, options.page ?? 1, PAGE_SIZE);
    const base = `${invocation.commandText}${options.role ? ` role:${options.role}` : ''}`;
    const lines = p.items.map((u) => `${md.escape(u.name || '—')} · ${md.escape(u.email)} · ${md.code(u.role)}`);
    return reply({
      title: options.role ? `Members with role ${options.role}` : 'Organization members',
      blocks: [
        ...(lines.length ? [{ type: 'text' as const, text: lines.join('\n') }] : []),
        {
          type: 'context',
          text: `${pageFooter(p, base, 'members')} ${asOf(directory.syncedAt, services.clock.now())}`,
        },
      ],
      summary: `${users.length} members`,
    });
  },
});
