/**
 * DATABASE_URL's password never reaches the operator's terminal: not from scripts/prisma.mjs (which prints the
 * URL it migrates), not from an error message quoting it, whatever the form: userinfo (with `@` inside the
 * password), or a `password` / `sslpassword` query parameter. The database is a closed port, so every verb fails,
 * and its message still says which database it could not reach.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const ALL_VERBS = [['migrate'], ['link', 'slack', 'T0123ABCD', 'U0123ABCD', 'a@b.co'], ['start'], ['doctor']];
const CASES = [
  {
    form: 'a password query parameter',
    url: 'postgresql://u@127.0.0.1:1/db?password=supersecretpw',
    secrets: ['supersecretpw'],
    verbs: ALL_VERBS,
  },
  {
    form: 'an @ inside the password',
    url: 'postgresql://u:p@ssw0rdsecret@127.0.0.1:1/db',
    secrets: ['p@ssw0rdsecret', 'ssw0rdsecret'],
    verbs: [['migrate'], ['doctor']],
  },
  {
    form: 'a 4-character password and an sslpassword parameter',
    url: 'postgresql://u:pw12@127.0.0.1:1/db?sslpassword=keyphrase-9&sslmode=require',
    secrets: [':pw12@', 'keyphrase-9'],
    verbs: [['migrate']],
  },
];

describe('DATABASE_URL password in CLI output', () => {
  for (const { form, url, secrets, verbs } of CASES) {
    for (const verb of verbs) {
      it(`${verb[0]} prints no password given as ${form}`, async () => {
        const r = await runCli(verb, { env: { DATABASE_URL: url, LOG_LEVEL: 'info' }, timeoutMs: 60_000 });
        const output = r.stdout + r.stderr;
        expect(r.code, output).not.toBe(0);
        for (const s of secrets) expect(output).not.toContain(s);
        // Still diagnosable: the message names the database (DATABASE_URL) and where it is.
        expect(output).toMatch(/DATABASE_URL/);
        expect(output).toContain('127.0.0.1:1');
      }, 70_000);
    }
  }
});
