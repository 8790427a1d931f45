import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { md, pageFooter, reply } from '../src/core/command/reply.js';
import { when } from './format.js';

const ICON: Record<string, string> = { allowed: '✅', denied: '⛔', failed: '⚠️' };

export default defineCommand({
  path: ['audit'],
  description: 'Show the audit log: every command, allowed, denied or failed (admins)',
  access: 'audit:read',
  readOnly: true,
  options: z.object({
    limit: z.number().int().min(1).max(50).optional().describe('How many entries per page (1–50, default 20)'),
    page: z.number().int().min(1).max(10000).optional().describe('Page of the log to show'),
  }),
  positional: ['limit'],
  async handler({ options, services, invocation }) {
    const limit = options.limit ?? 20;
    const page = options.page ?? 1;
    const { entries, total } = await services.store.audit.list({ limit, offset: (page - 1) * limit });
    const pages = Math.max(1, Math.ceil(total / limit));
    const lines = entries.map((e) => {
      const who = e.actorEmail ?? `${e.platform}:${e.actorId}`;
      const why = e.outcome === 'allowed' ? '' : ` · ${e.errorCode ?? e.outcome} at ${e.stage}`;
      return `${ICON[e.outcome] ?? ''} ${when(e.at)} · ${md.escape(who)} · ${md.code(e.action)}${why}`;
    });
    const from = total === 0 ? 0 : (page - 1) * limit + 1;
    return reply({
      title: 'Audit log',
      blocks: [
        ...(lines.length ? [{ type: 'text' as const, text: lines.join('\n') }] : []),
        {
          type: 'context',
          text: pageFooter(
            { items: entries, page, pages, total, from, to: from + entries.length - 1 },
            `${invocation.commandText}${options.limit ? ` limit:${limit}` : ''}`,
            'entries',
          ),
        },
      ],
      summary: `${total} audit entries`,
    });
  },
});
