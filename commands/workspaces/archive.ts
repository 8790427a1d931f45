import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { canSeeKey } from '../../src/core/identity/visibility.js';
import { findWorkspace } from '../targets.js';

export default defineCommand({
  path: ['workspaces', 'archive'],
  description: 'Request archiving a workspace (its API keys are archived too; this cannot be undone)',
  access: 'member',
  options: z.object({
    workspace: z.string().min(1).max(100).describe('Workspace name or id'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['workspace'],
  examples: ['workspaces archive research reason:"project ended"'],
  async handler({ options, caller, services, invocation }) {
    const ws = await findWorkspace(
      services,
      options.workspace,
      'The Default workspace cannot be archived: every organization keeps it.',
    );
    const keys = (await services.admin.listApiKeys({ workspaceId: ws.id })).filter((k) => k.status !== 'archived');
    await services.directory.upsertApiKeys(keys);
    // How many keys go is said only to a requester who may see every one of them (the card is shown where they
    // asked); the executor records the exact count in the audit log.
    const requesterSeesKeys = keys.every((k) => canSeeKey(caller, k));
    const active = keys.filter((k) => k.status === 'active').length;
    const affected = !requesterSeesKeys
      ? 'its API keys will be archived too'
      : keys.length
        ? `its ${keys.length} API key${keys.length === 1 ? '' : 's'} (${active} active) will be archived too`
        : 'it has no API keys left to archive';
    return services.approvals.submit({
      caller,
      kind: 'workspace.archive',
      workspace: ws,
      payload: { name: ws.name, requesterSeesKeys },
      reason: options.reason ?? null,
      summary: `Archive workspace ${ws.name}: ${affected}; this cannot be undone`,
      channelId: invocation.channelId,
    });
  },
});
