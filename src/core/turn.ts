/**
 * Long loops in the core (building the directory's read model, a sync's pages) give the event loop a turn every so
 * often, so a 10,000-key organization never holds it for long and chat commands keep being acknowledged. Plain
 * timers only: no Node-only import (setImmediate when the runtime has it, after pending I/O; a zero timeout otherwise).
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/** Items handled between two turns of the event loop in core loops over a whole directory. */
export const ITEMS_PER_TURN = 2000;
