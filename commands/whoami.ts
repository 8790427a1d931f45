import { z } from 'zod';
import { defineCommand } from '../src/core/command/define.js';
import { md, reply } from '../src/core/command/reply.js';
import { isLinked } from '../src/core/identity/caller.js';
import { ORG_ROLE_LABELS } from '../src/core/identity/permissions.js';

export default defineCommand({
  path: ['whoami'],
  description: 'Show which Anthropic org member you act as, with your org and workspace roles',
  access: 'public',
  options: z.object({}),
  async handler({ caller, services }) {
    if (!isLinked(caller)) {
      return reply({
        tone: 'warning',
        title: 'Not linked',
        text: caller.unlinkedReason ?? 'Your chat account is not linked to an Anthropic org member.',
        blocks: [
          { type: 'context', text: `Chat account ${md.code(`${caller.platform}:${caller.teamId}/${caller.userId}`)}` },
        ],
      });
    }
    // The organization's name is a nicety: whoami must still answer if that one call fails.
    const org = await services.organization().catch((err: unknown) => {
      services.logger.warn({ err }, 'could not read the organization name');
      return null;
    });
    const user = caller.orgUser;
    const directory = await services.directory.read();
    const roles = caller.memberships
      .map(
        (m) => `${md.escape(directory.workspace(m.workspaceId)?.name ?? m.workspaceId)}: ${md.code(m.workspaceRole)}`,
      )
      .sort();
    let workspaceText = roles.length ? roles.join('\n') : 'No workspace memberships.';
    if (user.role === 'admin')
      workspaceText = `${md.code('workspace_admin')} in every workspace (inherited from org admin)`;
    else if (user.role === 'billing')
      workspaceText = `${md.code('workspace_billing')} in every workspace (inherited from org billing)${roles.length ? `\n${roles.join('\n')}` : ''}`;
    return reply({
      title: `You are ${md.escape(user.name || user.email)}`,
      blocks: [
        {
          type: 'fields',
          fields: [
            { label: 'Email', value: md.escape(user.email) },
            {
              label: 'Org role',
              value: `${md.code(user.role)}${ORG_ROLE_LABELS[user.role] ? '' : ' (unknown role: treated as user)'}`,
            },
            { label: 'Organization', value: org ? md.escape(org.name) : 'unavailable right now' },
            { label: 'Linked by', value: linkMethod(caller.link.method) },
          ],
        },
        { type: 'text', text: `**Workspace roles**\n${workspaceText}` },
      ],
      summary: `You are ${user.email} (${user.role})`,
    });
  },
});

function linkMethod(method: string): string {
  switch (method) {
    case 'slack_email':
      return 'verified Slack email';
    case 'operator':
      return 'an operator (CLI)';
    case 'admin':
      return 'an org admin';
    case 'playground':
      return 'the playground (simulated organization)';
    default:
      return method;
  }
}
