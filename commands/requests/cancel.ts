import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';

export default defineCommand({
  path: ['requests', 'cancel'],
  description: 'Cancel one of your pending requests',
  access: 'member',
  options: z.object({
    id: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z]{8}$/, 'must be a request id like R7K2QF9A')
      .describe('The request id (see /qm requests list)'),
  }),
  positional: ['id'],
  async handler({ options, caller, services }) {
    return services.approvals.cancel(caller, options.id.toUpperCase());
  },
});
