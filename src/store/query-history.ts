/**
 * Prisma remembers the arguments of its last 100 debug calls whether or not DEBUG is set (for the log excerpt of
 * its error reports), twice over: the driver adapters' copy of @prisma/debug and the copy bundled into the client
 * runtime. Every query is such a call, with its SQL text and parameters. After a bulk write (a directory sync of
 * 10,000 keys in 300-row statements, a usage report page) those are the last hundred statements with every row
 * they wrote: about 20 MB of strings kept alive while the bot sits idle, for nothing. `forgetQueryHistory` drops
 * them; the store calls it when a bulk write ends.
 */
import { Debug } from '@prisma/client/runtime/client';
import { clearLogs } from '@prisma/debug';

/** Prisma's MAX_ARGS_HISTORY (both copies). */
const HISTORY = 100;
const filler = Debug('quartermaster:store');

export function forgetQueryHistory(): void {
  clearLogs();
  // The runtime's copy has no clear: it keeps only its last 100 entries, so a hundred empty ones push the rest out.
  // Skipped while someone is debugging with DEBUG=… (they would see a hundred blank lines, and want the history).
  if (Debug.enabled('quartermaster:store')) return;
  for (let i = 0; i < HISTORY; i++) filler('');
}
