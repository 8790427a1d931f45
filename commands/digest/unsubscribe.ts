import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { describeSchedule } from '../../src/core/spend/digest-schedule.js';

export default defineCommand({
  path: ['digest', 'unsubscribe'],
  description: 'Stop posting the spend digest to this channel (the daily one, the weekly one, or both)',
  access: 'digests:manage',
  options: z.object({
    cadence: z.enum(['daily', 'weekly']).optional().describe('daily or weekly; both when left out'),
  }),
  positional: ['cadence'],
  examples: ['digest unsubscribe', 'digest unsubscribe weekly'],
  async handler({ options, services, invocation }) {
    if (!invocation.channelId)
      throw new DomainError('INVALID_INPUT', 'Run this command in the channel the digest goes to.');
    const removed = await services.store.digests.unsubscribe(
      { platform: invocation.platform, teamId: invocation.teamId, channelId: invocation.channelId },
      options.cadence,
    );
    if (removed.length === 0) {
      throw new DomainError(
        'NOT_FOUND',
        `This channel has no ${options.cadence ? `${options.cadence} ` : ''}digest subscription.`,
      );
    }
    const what = removed.map((s) => md.bold(describeSchedule(s))).join(' and ');
    return reply({
      tone: 'success',
      title: 'Digest unsubscribed',
      text: `This channel no longer gets the spend digest ${what}.`,
      summary: `Digest unsubscribed (${removed.map((s) => s.cadence).join(', ')})`,
    });
  },
});
