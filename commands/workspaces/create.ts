import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';

/** The Admin API's limit on active workspaces (the Default workspace not counted). */
const MAX_ACTIVE_WORKSPACES = 100;

export default defineCommand({
  path: ['workspaces', 'create'],
  description: 'Request a new workspace',
  access: 'member',
  options: z.object({
    name: z.string().min(1).max(40).describe('Name of the new workspace (at most 40 characters)'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['name'],
  examples: ['workspaces create data-science reason:"team budget of its own"'],
  async handler({ options, caller, services, invocation }) {
    const name = options.name.trim();
    if (!name) throw new DomainError('INVALID_INPUT', 'The workspace needs a name.');
    if (name.toLowerCase() === 'default') {
      throw new DomainError('CONFLICT', 'Every organization already has a Default workspace; choose another name.');
    }
    const all = await services.admin.listWorkspaces();
    await services.directory.upsertWorkspaces(all);
    const active = all.filter((w) => !w.archivedAt);
    const same = active.find((w) => w.name.toLowerCase() === name.toLowerCase());
    if (same) {
      throw new DomainError(
        'CONFLICT',
        `There is already a workspace called ${md.code(same.name)} (${md.code(same.id)}); choose another name.`,
      );
    }
    if (active.length >= MAX_ACTIVE_WORKSPACES) {
      throw new DomainError(
        'CONFLICT',
        `The organization has ${active.length} active workspaces, the most the API allows; archive one first.`,
      );
    }
    return services.approvals.submit({
      caller,
      kind: 'workspace.create',
      workspace: null,
      payload: { name },
      reason: options.reason ?? null,
      summary: `Create workspace ${name}`,
      channelId: invocation.channelId,
    });
  },
});
