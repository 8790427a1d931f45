/**
 * Argument parsing shared by every CLI verb: `node:util` parseArgs in strict mode, plus `--help`/`-h`.
 * A bad command line becomes a UsageError (one sentence naming the flag); the caller prints it with the verb's
 * usage and exits 2.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** The one-line error, a blank line, then the verb's usage. */
  get text(): string {
    return `${this.message}\n\n${this.usage}`;
  }
}

export interface CommandLine {
  /** `--help` or `-h` was given: print the usage and do nothing else. */
  help: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `args` (everything after the verb) strictly against `options`. `positionals` bounds how many plain
 * arguments the verb takes (none by default). With `--help`, nothing else is checked.
 */
export function parseCommandLine(
  args: string[],
  usage: string,
  options: OptionSpecs = {},
  positionals: { min?: number; max?: number; missing?: string } = {},
): CommandLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error & { code?: string }, args), usage);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true, values, positionals: parsed.positionals };
  const { min = 0, max = 0 } = positionals;
  const extra = parsed.positionals.slice(max);
  if (extra.length > 0) {
    throw new UsageError(
      max === 0 ? `Unexpected argument "${extra[0]}".` : `Unexpected extra argument "${extra[0]}".`,
      usage,
    );
  }
  if (parsed.positionals.length < min) throw new UsageError(positionals.missing ?? 'An argument is missing.', usage);
  return { help: false, values, positionals: parsed.positionals };
}

/** parseArgs' messages are long and suggest `--`; say what is wrong in one sentence instead. */
function describeParseError(err: Error & { code?: string }, args: string[]): string {
  // The flag is quoted first in the message, as `'--port'` or `'-p, --port <value>'`: name its long form.
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  const flag = quoted
    .split(/[\s,]+/)
    .filter((t) => t.startsWith('-'))
    .at(-1);
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${flag ?? args.find((a) => a.startsWith('-')) ?? ''}.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message)
        ? `Option ${flag ?? ''} needs a value.`
        : `Option ${flag ?? ''} does not take a value.`;
    default:
      return err.message.split('\n')[0] ?? 'Invalid arguments.';
  }
}
