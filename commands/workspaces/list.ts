import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, pageFooter, paginate, reply } from '../../src/core/command/reply.js';
import { asOf, day } from '../format.js';

const PAGE_SIZE = 25;

export default defineCommand({
  path: ['workspaces', 'list'],
  description: 'List the workspaces of the Anthropic organization',
  access: 'workspaces:read',
  readOnly: true,
  options: z.object({
    archived: z.boolean().optional().describe('Include archived workspaces'),
    page: z.number().int().min(1).max(1000).optional().describe('Page of the list to show'),
  }),
  async handler({ options, services, invocation }) {
    // Served from the synced directory, see asOf.
    const directory = await services.directory.forList();
    const workspaces = directory.listWorkspaces().filter((w) => options.archived || !w.archivedAt);
    const memberCounts = directory.memberCounts();
    const activeKeys = new Map<string, number>();
    for (const k of directory.listApiKeys()) {
      if (k.workspaceId && k.status === 'active')
        activeKeys.set(k.workspaceId, (activeKeys.get(k.workspaceId) ?? 0) + 1);
    }
    const sorted = [...workspaces].sort((a, b) => a.name.localeCompare(b.name));
    const p = paginate(sorted, options.page ?? 1, PAGE_SIZE);
    const lines = p.items.map((w) => {
      const state = w.archivedAt ? ` · archived ${day(w.archivedAt)}` : '';
      return `${md.bold(w.name)} ${md.code(w.id)}\n${memberCounts.get(w.id) ?? 0} members · ${activeKeys.get(w.id) ?? 0} active keys · created ${day(w.createdAt)}${state}`;
    });
    return reply({
      title: 'Workspaces',
      blocks: [
        ...lines.map((text) => ({ type: 'text' as const, text })),
        {
          type: 'context',
          text: `${pageFooter(p, `${invocation.commandText}${options.archived ? ' archived' : ''}`, 'workspaces')} The Default workspace is not listed by the Admin API. ${asOf(directory.syncedAt, services.clock.now())}`,
        },
      ],
      summary: `${workspaces.length} workspaces`,
    });
  },
});
