import { z } from 'zod';
import { REQUEST_KINDS } from '../../src/core/approvals/policy.js';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';

export default defineCommand({
  path: ['policy', 'show'],
  description: 'Show the effective approval policy',
  access: 'member',
  readOnly: true,
  options: z.object({
    kind: z.enum(REQUEST_KINDS).optional().describe('Show what applies to one kind of request'),
    workspace: z.string().trim().min(1).max(100).optional().describe('Apply the overrides of this workspace'),
  }),
  examples: ['policy show', 'policy show kind:key.request workspace:prod'],
  async handler({ options, services }) {
    const policy = services.policy;
    if (!options.kind && !options.workspace) return policy.describe();
    const ws = options.workspace ?? null;
    const base = options.kind ? policy.describeKind(options.kind, ws) : policy.describeWorkspace(ws!);
    if (ws) {
      // A workspace named in the command or the policy but unknown to the organization is worth saying.
      const known = await services.store.directory.listWorkspaces();
      if (!known.some((w) => w.name.toLowerCase() === ws.toLowerCase())) {
        base.blocks.splice(base.blocks.length - 1, 0, {
          type: 'text',
          text: `No workspace named ${md.code(ws)} is known in the organization.`,
        });
      }
    }
    return base;
  },
});
