import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { checkWorkspaceRole, findMember, findWorkspace, WORKSPACE_ROLE_CHOICES } from '../targets.js';

export const DEFAULT_MEMBERS_REFUSAL =
  'The Admin API does not manage the members of the Default workspace. Name another workspace.';

export default defineCommand({
  path: ['workspaces', 'add-member'],
  description: 'Request adding a member to a workspace, or changing their role in it',
  access: 'member',
  options: z.object({
    workspace: z.string().min(1).max(100).describe('Workspace name or id'),
    member: z.string().min(1).max(254).describe('The member: their email, or a mention of a linked chat user'),
    role: z.enum(WORKSPACE_ROLE_CHOICES).describe('Their workspace role (workspace_billing cannot be given)'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['workspace', 'member', 'role'],
  examples: ['workspaces add-member prod bob@example.com workspace_developer'],
  async handler({ options, caller, services, invocation }) {
    checkWorkspaceRole(null, options.role, options.workspace);
    const ws = await findWorkspace(services, options.workspace, DEFAULT_MEMBERS_REFUSAL);
    const member = await findMember(services, options.member, caller, invocation);
    checkWorkspaceRole(member, options.role, ws.name);
    const current = (await services.admin.listWorkspaceMembers(ws.id)).find((m) => m.userId === member.id);
    if (current?.workspaceRole === options.role) {
      throw new DomainError(
        'CONFLICT',
        `${md.escape(member.email)} already has ${md.code(options.role)} in ${md.escape(ws.name)}.`,
      );
    }
    const summary = current
      ? `Make ${member.email} ${options.role} in ${ws.name} (now ${current.workspaceRole})`
      : `Add ${member.email} to ${ws.name} as ${options.role}`;
    return services.approvals.submit({
      caller,
      kind: 'workspace.add_member',
      workspace: ws,
      payload: {
        userId: member.id,
        email: member.email,
        role: options.role,
        fromRole: current?.workspaceRole ?? null,
      },
      reason: options.reason ?? null,
      summary,
      channelId: invocation.channelId,
    });
  },
});
