import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, pageFooter, paginate, reply } from '../../src/core/command/reply.js';
import { canSeeRequest } from '../../src/core/identity/visibility.js';
import type { ApprovalStatus } from '../../src/core/ports/store.js';

const PAGE_SIZE = 15;

export default defineCommand({
  path: ['requests', 'list'],
  description: 'List requests: yours, or the ones you can see (yours and those you may approve; admins see all)',
  access: 'member',
  readOnly: true,
  options: z.object({
    which: z
      .enum(['mine', 'pending', 'all'])
      .optional()
      .describe('mine (default), pending, or all of those you can see'),
    page: z.number().int().min(1).max(1000).optional().describe('Page of the list to show'),
  }),
  positional: ['which'],
  async handler({ options, caller, services, invocation }) {
    const which = options.which ?? 'mine';
    const statuses: ApprovalStatus[] | undefined = which === 'pending' ? ['pending'] : undefined;
    const requests = (
      await services.store.approvals.list({
        statuses,
        requesterOrgId: which === 'mine' ? caller.orgUser!.id : undefined,
        limit: 500,
      })
    ).filter((r) => canSeeRequest(caller, r, services.policy));
    const p = paginate(requests, options.page ?? 1, PAGE_SIZE);
    const lines = p.items.map(
      (r) =>
        `${md.code(r.id)} · ${md.code(r.status)} · ${md.escape(r.summary)}\nby ${md.escape(r.requester.email)} · ${r.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${r.status === 'pending' ? ` · expires ${r.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}`,
    );
    return reply({
      title: which === 'mine' ? 'Your requests' : which === 'pending' ? 'Pending requests' : 'All requests',
      blocks: [
        ...lines.map((text) => ({ type: 'text' as const, text })),
        { type: 'context', text: pageFooter(p, `${invocation.commandText} ${which}`, 'requests') },
      ],
      summary: `${requests.length} requests`,
    });
  },
});
