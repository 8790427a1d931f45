/**
 * The `limit.set` request kind: a budget set or cleared by someone who is not billing or an admin, carried out
 * once approved. Idempotent like every executor (setBudget upserts, clearBudget does nothing when it is gone).
 */
import type { KindDefinition } from '../approvals/kind.js';
import { changeFromPayload, clearBudget, setBudget } from './budgets.js';

export const limitSet: KindDefinition = {
  kind: 'limit.set',
  async execute(r, s) {
    const change = changeFromPayload(r.payload);
    if (change.action === 'clear') {
      const { budget, message } = await clearBudget(s, change.scope, change.targetId, change.targetName);
      return { message, data: { cleared: budget !== null } };
    }
    const { budget, created, message } = await setBudget(s, change.budget);
    return { message, data: { budgetId: budget.id, created } };
  },
};
