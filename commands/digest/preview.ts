import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import type { Reply } from '../../src/core/command/reply.js';
import { composeDigest } from '../../src/core/spend/digest-compose.js';
import { lastCompleteUtcDay } from '../../src/core/spend/digest-schedule.js';

export default defineCommand({
  path: ['digest', 'preview'],
  description: 'Show the spend digest for yesterday (UTC) to you only, as a subscribed channel would get it',
  access: 'digests:manage',
  readOnly: true,
  options: z.object({}),
  async handler({ services }): Promise<Reply> {
    const day = lastCompleteUtcDay(services.clock.now());
    const digest = await composeDigest(services, day, { chart: false });
    return {
      ...digest,
      visibility: 'ephemeral',
      blocks: [
        ...digest.blocks,
        { type: 'context', text: 'Preview: only you see it. Posted digests come with a chart of the last 30 days.' },
      ],
    };
  },
});
