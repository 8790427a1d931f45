/**
 * Leak incidents, sightings, webhook deliveries and server secrets over Prisma (issue 11). Placeholder: the
 * "leak core" helper implements it.
 */
import type { Store } from '../core/ports/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';

export function leaksStore(_prisma: PrismaClient): Pick<Store, 'leaks'> {
  const todo = () => {
    throw new Error('leaks store: not implemented yet');
  };
  return { leaks: new Proxy({}, { get: () => todo }) as Store['leaks'] };
}
