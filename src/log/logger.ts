/**
 * pino, configured so that secrets never reach a log line: known secret fields are censored by name,
 * and every finished line is scrubbed of key- and token-shaped text and of the configured secret values
 * (a key pasted into a command, an upstream error echoing a header, a child logger's bindings).
 * JSON in production; readable in a terminal.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import type PinoPretty from 'pino-pretty';
import { censorSecrets } from './censor.js';
import { createScrubber } from './scrub.js';

export interface LoggerOptions {
  level: string;
  /** Pretty output for a human at a terminal. Defaults to: stdout is a TTY and NODE_ENV is not production. */
  pretty?: boolean;
  /** Where to write (tests capture log lines here). Defaults to stdout. */
  destination?: DestinationStream;
  /** Exact secret values from the configuration, scrubbed wherever they appear. */
  secrets?: readonly (string | undefined)[];
}

export function createLogger(o: LoggerOptions): PinoLogger {
  const scrub = createScrubber(o.secrets);
  const usePretty =
    o.pretty ?? (!o.destination && Boolean(process.stdout.isTTY) && process.env.NODE_ENV !== 'production');
  const target: DestinationStream = usePretty
    ? loadPretty()({ colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname,app', destination: 1 })
    : // Asynchronous: a burst's lines are written together while one write is in flight, off the event loop;
      // pino flushes what is left synchronously when the process exits.
      (o.destination ?? pino.destination({ dest: 1, sync: false }));
  const flushSync = (target as { flushSync?: () => void }).flushSync?.bind(target);
  const scrubbing = new Writable({
    write(chunk, _enc, cb) {
      const line = scrub(chunk.toString());
      target.write(line);
      // Errors are written out at once: if the process is about to die without an exit event (an abort, the OOM
      // killer), the lines explaining why must not wait in a buffer.
      if (flushSync && /^\{"level":(5|6)\d/.test(line)) {
        try {
          flushSync();
        } catch {
          // sonic-boom refuses a synchronous flush while it is still opening its destination; the line is queued.
        }
      }
      cb();
    },
  });
  const logger = pino(
    {
      level: o.level,
      base: { app: 'quartermaster' },
      // Secret fields by name (censor.ts) in what is logged; a child logger's bindings below.
      formatters: { log: censorSecrets },
      serializers: { err: serializeError },
    },
    scrubbing,
  );
  // pino applies no formatter to a child's bindings (nor to setBindings'): they are censored here. Children are
  // created from their parent's prototype chain, so every descendant goes through this too. A child given its own
  // log formatter still has what it formats censored (pino would otherwise replace censorSecrets with it).
  const child = logger.child;
  logger.child = function (this: PinoLogger, bindings, options) {
    const log = options?.formatters?.log;
    const own = log
      ? {
          ...options,
          formatters: { ...options.formatters, log: (o: object) => censorSecrets(log(o) as Record<string, unknown>) },
        }
      : options;
    return child.call(this, censorSecrets(bindings), own);
  } as typeof logger.child;
  const setBindings = logger.setBindings;
  logger.setBindings = function (this: PinoLogger, bindings) {
    setBindings.call(this, censorSecrets(bindings));
  } as typeof logger.setBindings;
  return logger;
}

function serializeError(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  const out: Record<string, unknown> = { type: e.name, message: e.message, stack: e.stack };
  for (const k of ['code', 'status', 'kind', 'requestId', 'attempts'] as const) {
    const v = (e as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  if (e.cause) out.cause = serializeError(e.cause);
  return out;
}

/** The terminal formatter loads only in a terminal: a server writing JSON lines never pays for it. */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}
