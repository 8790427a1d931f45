import { z } from 'zod';
import { formatDuration, parseDuration } from '../../src/core/approvals/policy.js';
import { resolveMember } from '../../src/core/approvals/targets.js';
import { defineCommand } from '../../src/core/command/define.js';
import { md } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';

const ASSIGNABLE = ['user', 'claude_code_user', 'developer', 'billing'] as const;

export default defineCommand({
  path: ['members', 'role'],
  description: "Request a change of a member's org role, optionally for a limited time",
  access: 'member',
  options: z.object({
    member: z.string().min(1).max(254).describe('The member: their email, or a mention of a linked chat user'),
    role: z.enum([...ASSIGNABLE, 'admin']).describe('The new org role (admin cannot be given through the API)'),
    for: z.string().max(20).optional().describe('Only for this long, then revert (e.g. 2h, 7d)'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers'),
  }),
  positional: ['member', 'role'],
  examples: ['members role bob@example.com billing reason:"quarter close" for:7d'],
  async handler({ options, caller, services, invocation }) {
    if (options.role === 'admin') {
      throw new DomainError(
        'INVALID_INPUT',
        'The Anthropic Admin API cannot make anyone an admin (or change an admin’s role). An admin has to do that in the Console: Settings → Members.',
      );
    }
    const member = await resolveMember(services, options.member, caller, invocation);
    if (['admin', 'owner', 'primary_owner'].includes(member.role)) {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.escape(member.email)} is an org admin; the Admin API cannot change an admin’s role. Use the Console.`,
      );
    }
    if (member.role === options.role && !options.for) {
      throw new DomainError('CONFLICT', `${md.escape(member.email)} already has the ${md.code(options.role)} role.`);
    }
    let durationMs = 0;
    if (options.for) {
      try {
        durationMs = parseDuration(options.for);
      } catch (e) {
        throw new DomainError('INVALID_INPUT', `\`for\`: ${(e as Error).message}`);
      }
      const max = services.policy.resolve('member.role', null).maxDurationMs;
      if (max !== null && durationMs > max) {
        throw new DomainError(
          'INVALID_INPUT',
          `\`for\` can be at most ${formatDuration(max)} under the policy (you asked for ${formatDuration(durationMs)}).`,
        );
      }
    }
    const summary = `Make ${member.email} ${options.role}${durationMs ? ` for ${formatDuration(durationMs)}` : ''} (now ${member.role})`;
    return services.approvals.submit({
      caller,
      kind: 'member.role',
      workspace: null,
      payload: { userId: member.id, email: member.email, role: options.role, fromRole: member.role, durationMs },
      reason: options.reason ?? null,
      summary,
      channelId: invocation.channelId,
    });
  },
});
