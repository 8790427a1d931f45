import { z } from 'zod';
import { formatDuration } from '../../src/core/approvals/policy.js';
import { resolveKey, resolveWorkspace } from '../../src/core/approvals/targets.js';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { DEFAULT_WORKSPACE_REFUSAL } from './request.js';

const MAX_NAME = 100;

/** `<old name> (rotated YYYY-MM-DD)`, the old name shortened so the whole stays within the API's 100 characters. */
export function rotatedName(oldName: string, day: Date): string {
  const suffix = ` (rotated ${day.toISOString().slice(0, 10)})`;
  const base = oldName.replace(/ \(rotated \d{4}-\d\d-\d\d\)$/, '');
  return `${base.length + suffix.length > MAX_NAME ? `${base.slice(0, MAX_NAME - suffix.length - 1)}…` : base}${suffix}`;
}

export default defineCommand({
  path: ['keys', 'rotate'],
  description: 'Request a replacement for an API key; the old key is set inactive a day after the new one exists',
  access: 'member',
  options: z.object({
    key: z.string().min(1).max(200).describe('The key to replace: its id (apikey_…) or exact name'),
    reason: z.string().trim().min(1).max(500).describe('Why; shown to the approvers'),
  }),
  positional: ['key', 'reason'],
  examples: ['keys rotate prod-backend "leaked in a screenshot"'],
  async handler({ options, caller, services, invocation }) {
    const key = await resolveKey(services, options.key, caller);
    if (key.status !== 'active' && key.status !== 'inactive') {
      throw new DomainError(
        'CONFLICT',
        `Key ${md.bold(key.name)} is ${md.code(key.status)}; only active or inactive keys can be rotated. Request a new one with ${md.code('/qm keys request')}.`,
      );
    }
    if (!key.workspaceId)
      throw new DomainError(
        'INVALID_INPUT',
        `Key ${md.bold(key.name)} is in the Default workspace (or organization-wide). ${DEFAULT_WORKSPACE_REFUSAL}`,
      );
    const workspace = await resolveWorkspace(services, key.workspaceId);
    const replaced = (await services.store.keyBindings.list()).find((b) => b.replacesKeyId === key.id);
    if (replaced) {
      throw new DomainError(
        'CONFLICT',
        `Key ${md.bold(key.name)} was already rotated: its replacement is ${md.code(replaced.keyId)}${replaced.replacedAt ? '' : '; the old key will be set inactive when the grace period ends'}.`,
      );
    }
    const open = (
      await services.store.approvals.list({ statuses: ['pending', 'approved', 'executing'], limit: 500 })
    ).find((r) => r.kind === 'key.rotate' && r.payload.replacesKeyId === key.id);
    if (open) {
      throw new DomainError(
        'CONFLICT',
        `A rotation of ${md.bold(key.name)} is already under way: request ${md.code(open.id)} (${open.status}).`,
      );
    }
    const me = caller.orgUser;
    const now = services.clock.now();
    const name = rotatedName(key.name, now);
    const max = services.policy.resolve('key.rotate', workspace.name).maxDurationMs;
    // The replacement lives as long as the old key was meant to (when it had an expiry), within the policy.
    const lifetime =
      key.expiresAt && key.createdAt ? Math.max(0, Date.parse(key.expiresAt) - Date.parse(key.createdAt)) : null;
    const expiresMs = lifetime && max !== null ? Math.min(lifetime, max) : (lifetime ?? max);
    return services.approvals.submit({
      caller,
      kind: 'key.rotate',
      workspace,
      payload: {
        userId: me?.id ?? '',
        email: me?.email ?? '',
        workspaceId: workspace.id,
        workspaceName: workspace.name,
        keyName: name,
        expiresMs: expiresMs || null,
        replacesKeyId: key.id,
        replacesKeyName: key.name,
        replacesKeyCreatedBy: key.createdBy?.id ?? null,
      },
      reason: options.reason,
      summary: `Rotate API key "${key.name}" in ${workspace.name}: new key "${name}" for ${me?.email ?? 'the requester'} (${expiresMs ? formatDuration(expiresMs) : 'no expiry'})`,
      channelId: invocation.channelId,
    });
  },
});
