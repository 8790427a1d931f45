import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import {
  BUDGET_PERIODS,
  BUDGET_REENABLE,
  budgetSummary,
  changeToPayload,
  parseAmount,
  parseChannel,
  parseThresholds,
  replacesText,
  setBudget,
} from '../../src/core/limits/budgets.js';
import type { BudgetInput } from '../../src/core/ports/limits.js';
import { channelWhere, resolveTarget, scopeOption, setsDirectly, skipTargetForOrg, targetOption } from './common.js';

export default defineCommand({
  path: ['limits', 'set'],
  description: 'Set a spend budget with alerts on the org, a workspace or a key (billing, admins; others request it)',
  access: 'member',
  options: z.object({
    scope: scopeOption(),
    amount: z.string().min(1).max(40).describe('The budget in US dollars, e.g. 5000 or $5,000 or 250.50'),
    target: targetOption(),
    period: z.enum(BUDGET_PERIODS).optional().describe('day, week (Monday to Sunday) or month (default)'),
    thresholds: z.string().max(100).optional().describe('Alert at these percents of the amount (default 50,80,100)'),
    enforce: z.boolean().optional().describe('At 100 %, set the active keys in scope inactive (default false)'),
    reenable: z
      .enum(BUDGET_REENABLE)
      .optional()
      .describe('With enforce: re-enable the keys when the next period starts (next_period, default) or manual'),
    channel: z.string().max(200).optional().describe('Channel for the alerts (default: this channel)'),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers when this is a request'),
  }),
  positional: ['scope', 'target', 'amount', 'period', 'thresholds', 'enforce', 'channel'],
  skipPositional: skipTargetForOrg,
  examples: [
    'limits set org 5000',
    'limits set workspace prod 1200 week 50,90,100',
    'limits set key prod-chat 250.50 day enforce',
    'limits set workspace research $3,000 thresholds:80,100 channel:#spend-alerts',
  ],
  async handler({ options, caller, services, invocation }) {
    const base = invocation.commandText;
    const enforce = options.enforce ?? false;
    const amountNanos = parseAmount(options.amount);
    const { thresholds, added100 } = parseThresholds(options.thresholds, enforce);
    if (options.reenable && !enforce) {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.code('reenable')} is for enforced budgets: add ${md.code('enforce')}, or leave ${md.code('reenable')} out.`,
      );
    }
    const channelId = parseChannel(options.channel, invocation.platform) ?? invocation.channelId;
    if (!channelId) {
      throw new DomainError(
        'INVALID_INPUT',
        `Say where the alerts go: ${md.code('channel:#channel')}, or run this in that channel.`,
      );
    }
    const target = await resolveTarget(services, caller, options.scope, options.target, base);
    const period = options.period ?? 'month';
    const input: BudgetInput = {
      scope: target.scope,
      targetId: target.targetId,
      targetName: target.targetName,
      workspaceId: target.workspaceId,
      amountNanos,
      period,
      timezone: services.policy.spendTimezone,
      thresholds,
      enforce,
      reenable: options.reenable ?? 'next_period',
      platform: invocation.platform,
      teamId: invocation.teamId,
      channelId,
      createdBy: caller.orgUser!.id,
    };
    const notes = [
      `Alerts go to ${channelWhere({ ...input }, invocation)}; each threshold alerts once a period. Periods are calendar ${period}s${period === 'week' ? ' (Monday to Sunday)' : ''} in ${md.code(input.timezone)} (${md.code('spend.timezone')} in the policy file).`,
    ];
    if (added100) notes.push('100 % was added to the thresholds: an enforced budget acts at 100 %.');
    if (target.scope === 'key')
      notes.push("A key's spend is estimated from its usage × list prices: the cost report has no per-key costs.");

    if (await setsDirectly(services, caller)) {
      const { created, message } = await setBudget(services, input);
      notes.push(`${md.code(`${base.replace(/ set$/, '')} show`)} shows its spend so far.`);
      return reply({
        tone: 'success',
        title: created ? 'Budget set' : 'Budget updated',
        text: message,
        blocks: [{ type: 'context', text: notes.join(' ') }],
        summary: `${created ? 'Budget set' : 'Budget updated'}: ${budgetSummary(input)}`,
      });
    }
    // The approver decides on this text alone: it says where the alerts (with the target's spend) would be posted,
    // and what it would replace (the requester sees that budget already: they see the target's spend).
    const existing = await services.store.limits.findBudget(target.scope, target.targetId);
    const where =
      channelId === invocation.channelId ? 'in the channel it was asked in' : `in another channel, ${channelId}`;
    const summary = `${budgetSummary(input)}, alerts at ${thresholds.join(', ')} % ${where}${enforce ? `, keys re-enabled ${input.reenable === 'manual' ? 'by an approver' : 'next period'}` : ''}${existing ? `; ${replacesText(existing)}` : ''}`;
    return services.approvals.submit({
      caller,
      kind: 'limit.set',
      workspace: target.workspace,
      payload: changeToPayload({ action: 'set', budget: input }),
      reason: options.reason ?? null,
      summary,
      channelId: invocation.channelId,
    });
  },
});
