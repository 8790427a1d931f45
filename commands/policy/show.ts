import { z } from 'zod';
import { REQUEST_KINDS } from '../../src/core/approvals/policy.js';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { seesAllMembers } from '../../src/core/identity/visibility.js';

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
  async handler({ options, caller, services }) {
    const policy = services.policy;
    // People the policy names are shown to those who may list members; everyone else is told how many.
    const view = { showPeople: seesAllMembers(caller) };
    if (!options.kind && !options.workspace) return policy.describe(view);
    const ws = options.workspace ?? null;
    const base = options.kind ? policy.describeKind(options.kind, ws, view) : policy.describeWorkspace(ws!, view);
    if (ws) {
      // A workspace named in the command or the policy but unknown to the organization is worth saying.
      const known = (await services.directory.read()).listWorkspaces();
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
