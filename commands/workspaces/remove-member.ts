import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { findMember, findWorkspace, ORG_ADMIN_ROLES } from '../targets.js';
import { DEFAULT_MEMBERS_REFUSAL } from './add-member.js';

export default defineCommand({
  path: ['workspaces', 'remove-member'],
  description: 'Request removing a member from a workspace',
  access: 'member',
  options: z.object({
    workspace: z.string().min(1).max(100).describe('Workspace name or id'),
    member: z.string().min(1).max(254).describe('The member: their email, or a mention of a linked chat user'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['workspace', 'member'],
  examples: ['workspaces remove-member staging heidi@example.com reason:"moved teams"'],
  async handler({ options, caller, services, invocation }) {
    const ws = await findWorkspace(services, options.workspace, DEFAULT_MEMBERS_REFUSAL);
    const member = await findMember(services, options.member, caller, invocation);
    if (ORG_ADMIN_ROLES.has(member.role) || member.role === 'billing') {
      const inherited = member.role === 'billing' ? 'workspace_billing' : 'workspace_admin';
      throw new DomainError(
        'INVALID_INPUT',
        `${md.escape(member.email)} is an org ${md.code(member.role)}: they are ${md.code(inherited)} in every workspace, and the Admin API cannot remove them from ${md.escape(ws.name)}. Change their org role first.`,
      );
    }
    const current = (await services.admin.listWorkspaceMembers(ws.id)).find((m) => m.userId === member.id);
    if (!current) {
      throw new DomainError('NOT_FOUND', `${md.escape(member.email)} is not a member of ${md.escape(ws.name)}.`);
    }
    return services.approvals.submit({
      caller,
      kind: 'workspace.remove_member',
      workspace: ws,
      payload: { userId: member.id, email: member.email, fromRole: current.workspaceRole },
      reason: options.reason ?? null,
      summary: `Remove ${member.email} from ${ws.name} (now ${current.workspaceRole})`,
      channelId: invocation.channelId,
    });
  },
});
