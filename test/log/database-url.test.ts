/**
 * The password in DATABASE_URL is a secret: whatever writes the URL out (a pg or Prisma error message, a field
 * holding the connection string, the password alone), no log line carries it. The logger is configured exactly
 * as Quartermaster configures it (secretValues of the loaded configuration).
 */
import type { DestinationStream } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { secretValues } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';

function capture(databaseUrl: string) {
  const lines: string[] = [];
  const destination: DestinationStream = {
    write(s: string) {
      lines.push(...s.split('\n').filter(Boolean));
    },
  };
  const config = loadConfig({ DATABASE_URL: databaseUrl });
  const logger = createLogger({ level: 'trace', destination, secrets: secretValues(config) });
  return { logger, output: () => lines.join('\n') };
}

/** An error as a driver raises it, with the connection string in its message and its cause. */
function driverError(url: string): Error {
  return new Error(`connect ECONNREFUSED while connecting to ${url}`, {
    cause: new Error(`Can't reach database server at \`${url}\``),
  });
}

describe('DATABASE_URL password in logs', () => {
  it('never logs postgresql://u:s3cr3t-pw@host/db, in a message, an error, its cause or a field', () => {
    const url = 'postgresql://u:s3cr3t-pw@db.internal:5432/quartermaster';
    const { logger, output } = capture(url);
    logger.error({ err: driverError(url) }, 'database unreachable');
    logger.warn({ databaseUrl: url, options: { connectionString: url } }, `could not open ${url}`);
    logger.info({ hint: 'the password was s3cr3t-pw' }, 'password alone');
    const out = output();
    expect(out).not.toContain('s3cr3t-pw');
    // What the operator needs to diagnose stays: user, host, port and database.
    expect(out).toContain('postgresql://u:[REDACTED]@db.internal:5432/quartermaster');
  });

  it('redacts percent-encoded passwords both as written and decoded', () => {
    const url = 'postgresql://app:p%40ss%3Aw0rd%2F9@10.0.0.5/qm';
    const { logger, output } = capture(url);
    logger.error({ err: driverError(url) }, 'database unreachable');
    logger.error({ err: new Error('password authentication failed; tried p@ss:w0rd/9') }, 'decoded');
    const out = output();
    expect(out).not.toContain('p%40ss%3Aw0rd%2F9');
    expect(out).not.toContain('p@ss:w0rd/9');
  });

  it('redacts the credentials of any URL a line carries, configured or not', () => {
    const { logger, output } = capture('file:./data/qm.db');
    logger.error({ err: driverError('postgres://replica:an0ther-pw@replica.internal/qm') }, 'replica unreachable');
    expect(output()).not.toContain('an0ther-pw');
    expect(output()).toContain('postgres://replica:[REDACTED]@replica.internal/qm');
  });
});
