/**
 * `start`'s memory once it is up. bin/quartermaster.mjs keeps V8's young generation at its initial size
 * (`--semi-space-growth-factor=1`) while the bot starts: start-up allocates far more than it keeps (the modules,
 * a directory sync of 10,000 keys diffed and written, the identity links), and a young generation grown to
 * 2 × 16 MB by that burst would stay committed while the bot sits idle. Once the listener is open:
 *
 * - two full collections return start-up's garbage at once instead of when V8's memory reducer runs, about 8 s
 *   after the last full collection (npm run bench reads the resident set 5 s after start). They take 15–30 ms
 *   each, in separate turns, before the first command can reasonably arrive; the second compacts what the first
 *   freed.
 * - the young generation may grow again (the default factor), so a burst of commands is collected young instead
 *   of being promoted and marked: with it held at 1 MB, each command in flight during a scavenge was promoted and
 *   the old generation was marked every 1.5 s under 200 commands/s. V8's memory reducer shrinks it again once
 *   the bot is idle.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

export function settleHeapAfterStart(): void {
  // The gc extension is installed in contexts created after the flag is set.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
  setImmediate(() => {
    gc?.();
    setImmediate(() => {
      gc?.();
      setFlagsFromString('--semi-space-growth-factor=2');
    });
  });
}
