import { z } from 'zod';
import { consoleExpiry } from '../../src/core/approvals/key-requests.js';
import { DURATION_FORM, formatDuration, parseDuration } from '../../src/core/approvals/policy.js';
import { resolveWorkspace } from '../../src/core/approvals/targets.js';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';

/** The Default workspace has no members API: a just-in-time grant cannot be made there. */
export const DEFAULT_WORKSPACE_REFUSAL =
  'Keys in the Default workspace cannot be requested: the Admin API has no membership for the Default workspace, so Quartermaster cannot grant the temporary access needed to create one. Ask for a key in a named workspace (see `/qm workspaces list`), or ask an org admin to create it in the Console.';

export default defineCommand({
  path: ['keys', 'request'],
  description: 'Request a new API key in a workspace; once approved you create it in the Console',
  access: 'member',
  options: z.object({
    workspace: z.string().min(1).max(100).describe('Workspace name or id (not the Default workspace)'),
    name: z.string().trim().min(1).max(100).describe('Name of the new key (up to 100 characters)'),
    reason: z.string().trim().min(1).max(500).describe('Why you need it; shown to the approvers'),
    expires: z.string().max(20).optional().describe('Key lifetime, e.g. 30d (default: the longest the policy allows)'),
  }),
  positional: ['workspace', 'name', 'reason', 'expires'],
  examples: ['keys request prod "billing-worker" "new billing service" 30d'],
  async handler({ options, caller, services, invocation }) {
    if (options.workspace.trim().toLowerCase() === 'default')
      throw new DomainError('INVALID_INPUT', DEFAULT_WORKSPACE_REFUSAL);
    const workspace = await resolveWorkspace(services, options.workspace);
    const max = services.policy.resolve('key.request', workspace.name).maxDurationMs;
    let expiresMs: number | null = max;
    if (options.expires) {
      try {
        expiresMs = parseDuration(options.expires);
      } catch (e) {
        throw new DomainError('INVALID_INPUT', `\`expires\`: ${(e as Error).message}`);
      }
      if (expiresMs <= 0)
        throw new DomainError('INVALID_INPUT', `\`expires\` must be ${DURATION_FORM}, longer than zero.`);
      if (max !== null && expiresMs > max) {
        throw new DomainError(
          'INVALID_INPUT',
          `\`expires\` can be at most ${formatDuration(max)} for keys in ${md.escape(workspace.name)} under the policy (you asked for ${formatDuration(expiresMs)}).`,
        );
      }
    }
    const me = caller.orgUser;
    if (me?.role === 'billing') {
      const role = caller.memberships.find((m) => m.workspaceId === workspace.id)?.workspaceRole;
      if (role !== 'workspace_developer' && role !== 'workspace_admin')
        throw new DomainError(
          'INVALID_INPUT',
          `Org ${md.code('billing')} members inherit ${md.code('workspace_billing')} in every workspace, and the Admin API cannot make them ${md.code('workspace_developer')} for a moment. Ask an org admin to create the key in the Console.`,
        );
    }
    const expiry = expiresMs ? formatDuration(expiresMs) : 'no expiry';
    return services.approvals.submit({
      caller,
      kind: 'key.request',
      workspace,
      payload: {
        userId: me?.id ?? '',
        email: me?.email ?? '',
        workspaceId: workspace.id,
        workspaceName: workspace.name,
        keyName: options.name,
        expiresMs,
        expiry: consoleExpiry(expiresMs, services.clock.now()),
        replacesKeyId: null,
      },
      reason: options.reason,
      summary: `New API key "${options.name}" in ${workspace.name} for ${me?.email ?? 'the requester'} (${expiry})`,
      channelId: invocation.channelId,
    });
  },
});
