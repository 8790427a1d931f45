/**
 * The process-level last resort, installed by `startQuartermaster`: a promise rejection nobody handled is
 * logged through the redacting logger and the process keeps serving (nothing was unwound half-way); an
 * exception nobody caught is logged the same way and then, because the process state is unknown after it,
 * the process exits with status 1 for its supervisor to restart it. When something else in the process also
 * listens for uncaught exceptions (a test runner, an embedding application), that listener decides instead.
 *
 * Before that exit, `flush` (the audit log's pending entries: they are group-committed a few at a time, so
 * commands already answered may not be written yet) gets at most BEFORE_EXIT_MS; it is skipped when it fails.
 */
import type { Logger } from '../core/ports/runtime.js';

export const BEFORE_EXIT_MS = 2_000;

export interface LastResortOptions {
  exit?: (code: number) => void;
  flush?: () => Promise<void>;
}

/** Installs the handlers; the returned function removes them again (on shutdown). */
export function installLastResort(logger: Logger, o: LastResortOptions = {}) {
  const exit = o.exit ?? ((c: number) => process.exit(c));
  let exiting = false;
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection; still serving');
  };
  const onException = (err: Error) => {
    logger.error({ err }, 'uncaught exception; exiting for the supervisor to restart the process');
    if (process.listenerCount('uncaughtException') !== 1 || exiting) return;
    exiting = true;
    if (!o.flush) return exit(1);
    const deadline = setTimeout(() => exit(1), BEFORE_EXIT_MS);
    o.flush().then(
      () => {
        clearTimeout(deadline);
        exit(1);
      },
      (flushErr: unknown) => {
        logger.error({ err: flushErr }, 'could not write the pending audit entries before exiting');
        clearTimeout(deadline);
        exit(1);
      },
    );
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return async (): Promise<void> => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
