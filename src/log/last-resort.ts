/**
 * The process-level last resort, installed by `startQuartermaster`: a promise rejection nobody handled is
 * logged through the redacting logger and the process keeps serving (nothing was unwound half-way); an
 * exception nobody caught is logged the same way and then, because the process state is unknown after it,
 * the process exits with status 1 for its supervisor to restart it. When something else in the process also
 * listens for uncaught exceptions (a test runner, an embedding application), that listener decides instead.
 */
import type { Logger } from '../core/ports/runtime.js';

/** Installs the handlers; the returned function removes them again (on shutdown). */
export function installLastResort(logger: Logger, exit: (code: number) => void = (c) => process.exit(c)) {
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection; still serving');
  };
  const onException = (err: Error) => {
    logger.error({ err }, 'uncaught exception; exiting for the supervisor to restart the process');
    if (process.listenerCount('uncaughtException') === 1) exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return async (): Promise<void> => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
