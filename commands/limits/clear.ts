import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { budgetSummary, budgetTargetStart, changeToPayload, clearBudget } from '../../src/core/limits/budgets.js';
import {
  findVisibleBudget,
  resolveTarget,
  scopeOption,
  setsDirectly,
  skipTargetForOrg,
  targetOption,
} from './common.js';

export default defineCommand({
  path: ['limits', 'clear'],
  description: 'Remove the budget of the org, a workspace or a key (billing and admins; others request it)',
  access: 'member',
  options: z.object({
    scope: scopeOption(),
    target: targetOption(),
    reason: z.string().max(500).optional().describe('Why; shown to the approvers when this is a request'),
  }),
  positional: ['scope', 'target'],
  skipPositional: skipTargetForOrg,
  examples: ['limits clear org', 'limits clear workspace prod', 'limits clear key prod-chat'],
  async handler({ options, caller, services, invocation }) {
    const base = invocation.commandText.replace(/ clear$/, '');
    // A budget the caller sees, by its target's name or id (its key or workspace may be archived since); else the
    // target as it is now, which gives the same "no such" answers as everywhere else.
    let budget = await findVisibleBudget(services, caller, options.scope, options.target);
    if (!budget) {
      const target = await resolveTarget(services, caller, options.scope, options.target, `${base} set`);
      budget = await services.store.limits.findBudget(target.scope, target.targetId);
      if (!budget) {
        throw new DomainError(
          'NOT_FOUND',
          `${budgetTargetStart(target)} has no budget. ${md.code(`${base} show`)} lists the budgets you can see.`,
        );
      }
    }
    if (await setsDirectly(services, caller)) {
      const { message } = await clearBudget(services, budget.scope, budget.targetId, budget.targetName);
      return reply({
        tone: 'success',
        title: 'Budget cleared',
        text: message,
        summary: `Budget cleared: ${budgetSummary(budget)}`,
      });
    }
    const workspace = budget.workspaceId ? (await services.directory.read()).workspace(budget.workspaceId) : null;
    return services.approvals.submit({
      caller,
      kind: 'limit.set',
      workspace,
      payload: changeToPayload({
        action: 'clear',
        scope: budget.scope,
        targetId: budget.targetId,
        targetName: budget.targetName,
      }),
      reason: options.reason ?? null,
      summary: `Remove the ${budgetSummary(budget).replace(/^Budget/, 'budget')}`,
      channelId: invocation.channelId,
    });
  },
});
