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

  it('redacts a password holding @ whole, and password / sslpassword query parameters', () => {
    for (const [url, passwords] of [
      ['postgresql://u:p@ssw0rdsecret@127.0.0.1:1/db', ['p@ssw0rdsecret']],
      [
        'postgresql://u@127.0.0.1:1/db?password=supersecretpw&sslpassword=keyphrase-9',
        ['supersecretpw', 'keyphrase-9'],
      ],
      ['postgresql://u@127.0.0.1:1/db?sslmode=require&password=p%40ss%2Fw0rd', ['p%40ss%2Fw0rd', 'p@ss/w0rd']],
    ] as const) {
      const { logger, output } = capture(url);
      logger.error({ err: driverError(url) }, 'database unreachable');
      logger.info({ hint: `tried ${passwords.join(' and ')}` }, 'alone');
      const out = output();
      for (const s of passwords) expect(out).not.toContain(s);
      expect(out).not.toContain('ssw0rdsecret@');
      expect(out).toContain('@127.0.0.1:1/db');
    }
  });

  it('redacts a short configured password where it stands as a credential, and nowhere else', () => {
    const url = 'postgresql://u:pw1@127.0.0.1:1/db?sslpassword=pw1';
    const { logger, output } = capture(url);
    logger.error({ err: driverError(url) }, 'database unreachable');
    logger.info({}, 'the upw1x label stays');
    const out = output();
    expect(out).not.toMatch(/:pw1@|password=pw1/);
    expect(out).toContain('postgresql://u:[REDACTED]@127.0.0.1:1/db?sslpassword=[REDACTED]');
    expect(out).toContain('the upw1x label stays');
  });
});

describe('secretValues', () => {
  it('lists query-parameter and @-holding passwords as written, encoded and decoded', () => {
    const values = secretValues(
      loadConfig({ DATABASE_URL: 'postgresql://u:p@ss%3Aword@127.0.0.1:1/db?password=q%40rty&sslpassword=k3y' }),
    );
    expect(values).toEqual(expect.arrayContaining(['p@ss%3Aword', 'p@ss:word', 'q%40rty', 'q@rty', 'k3y']));
  });
});
