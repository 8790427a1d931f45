/**
 * Budgets, threshold alerts, enforcements and runaway-spend episodes over Prisma (issue 10). Placeholder: the
 * "store" helper implements it.
 */
import type { Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

export function limitsStore(_prisma: PrismaClient): Pick<Store, 'limits'> {
  const todo = () => {
    throw new Error('limits store: not implemented yet');
  };
  return { limits: new Proxy({}, { get: () => todo }) as Store['limits'] };
}
