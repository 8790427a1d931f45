/**
 * `start`'s memory once it is up. Start-up allocates far more than it keeps: the modules' sources and compiled
 * code, a directory sync (10,000 keys of JSON, diffed and written), the identity links. V8 gives the garbage back
 * only when its memory reducer runs, about 8 s after the last full collection, so for those first seconds the
 * process holds some 40 MB it no longer needs (npm run bench reads the resident set 5 s after start). One full
 * collection right after the listener opens returns it at once; it takes 15–30 ms, once, before the first command
 * can reasonably arrive.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

export function collectStartupGarbage(): void {
  // The gc extension is installed in contexts created after the flag is set.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
  if (gc)
    setImmediate(() => {
      gc();
      setImmediate(gc);
    });
}
