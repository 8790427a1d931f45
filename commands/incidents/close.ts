import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { closeIncident } from '../../src/core/leaks/incidents.js';

export default defineCommand({
  path: ['incidents', 'close'],
  description: 'Close a leak incident with a reason (its alert card shows it)',
  access: 'incidents:manage',
  options: z.object({
    id: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z]{8}$/, 'must be an incident id like R7K2QF9A')
      .describe('The incident id (see /qm incidents list)'),
    reason: z.string().trim().min(1).max(500).describe('Why it is closed, e.g. "rotated, history rewritten"'),
  }),
  positional: ['id', 'reason'],
  examples: ['incidents close R7K2QF9A "key rotated, message deleted"'],
  async handler({ options, caller, services, invocation }) {
    const id = options.id.toUpperCase();
    const incident = await services.store.leaks.get(id);
    if (!incident) {
      throw new DomainError(
        'NOT_FOUND',
        `There is no incident ${md.code(id)}. See ${md.code(`${invocation.commandText.replace(/ close$/, '')} list all`)}.`,
      );
    }
    if (incident.status === 'closed') {
      throw new DomainError('CONFLICT', `Incident ${md.code(id)} is already closed.`);
    }
    const closed = await closeIncident(services, id, caller.orgUser!, options.reason);
    if (!closed) throw new DomainError('CONFLICT', `Incident ${md.code(id)} is already closed.`);
    return reply({
      tone: 'success',
      title: `Incident ${closed.id} closed`,
      text: `Leaked ${md.code(closed.hint)}${closed.apiKeyName ? ` (key ${md.bold(closed.apiKeyName)})` : ''}: ${md.escape(options.reason)}`,
    });
  },
});
