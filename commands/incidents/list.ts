import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, pageFooter, reply } from '../../src/core/command/reply.js';
import { actorText, placeText } from '../../src/core/leaks/incidents.js';

const PAGE_SIZE = 15;
const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export default defineCommand({
  path: ['incidents', 'list'],
  description: 'List leak incidents (leaked Anthropic keys and tokens): open ones, or all',
  access: 'incidents:manage',
  readOnly: true,
  options: z.object({
    which: z.enum(['open', 'all']).optional().describe('open (default) or all incidents, newest activity first'),
    page: z.number().int().min(1).max(1000).optional().describe('Page of the list to show'),
  }),
  positional: ['which'],
  examples: ['incidents list', 'incidents list all'],
  async handler({ options, services, invocation }) {
    const which = options.which ?? 'open';
    const page = options.page ?? 1;
    const { incidents, total } = await services.store.leaks.list({
      open: which === 'open',
      limit: PAGE_SIZE,
      offset: (page - 1) * PAGE_SIZE,
    });
    const lines = await Promise.all(
      incidents.map(async (i) => {
        const sightings = await services.store.leaks.sightings(i.id);
        const latest = sightings.at(-1);
        const key = i.apiKeyId ? `key ${md.bold(i.apiKeyName ?? i.apiKeyId)}` : 'no key of this organization';
        const where = latest ? ` · latest ${placeText(latest.location)} by ${actorText(latest.actor)}` : '';
        const closed =
          i.status !== 'open' && i.closeReason && i.status === 'closed' ? ` · ${md.escape(i.closeReason)}` : '';
        return (
          `${md.code(i.id)} · ${md.code(i.status)} · ${md.code(i.hint)} · ${key}\n` +
          `${i.sightingCount} sighting${i.sightingCount === 1 ? '' : 's'} · first ${when(i.firstSeenAt)} · last ${when(i.lastSeenAt)}${where}${closed}`
        );
      }),
    );
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const from = total === 0 ? 0 : Math.min((page - 1) * PAGE_SIZE + 1, total);
    const footer = pageFooter(
      { items: incidents, page, pages, total, from, to: from === 0 ? 0 : from + incidents.length - 1 },
      `${invocation.commandText} ${which}`,
      which === 'open' ? 'open incidents' : 'incidents',
    );
    return reply({
      title: which === 'open' ? 'Open leak incidents' : 'Leak incidents',
      blocks: [
        ...lines.map((text) => ({ type: 'text' as const, text })),
        {
          type: 'context',
          text: `${footer} Close one with ${md.code(`${invocation.commandText.replace(/ list$/, '')} close <id> "<reason>"`)}.`,
        },
      ],
      summary: `${total} ${which === 'open' ? 'open ' : ''}leak incidents`,
    });
  },
});
