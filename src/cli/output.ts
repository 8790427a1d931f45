/**
 * What the CLI prints goes through here: the same scrub as the logger's, with the configured secret values
 * (read from the environment at print time, after ./.env is loaded, whether or not the configuration is valid).
 * An error message may quote a driver's or Prisma's output, which can carry DATABASE_URL's password.
 */
import { secretValues } from '../config/schema.js';
import { createScrubber } from '../log/scrub.js';

export function redactForOutput(text: string, env: Record<string, string | undefined> = process.env): string {
  return createScrubber(secretValues(env))(text);
}

/** A line on stdout, scrubbed. */
export function printLine(line: string): void {
  console.log(redactForOutput(line));
}

/** A line on stderr, scrubbed. */
export function printError(line: string): void {
  console.error(redactForOutput(line));
}
