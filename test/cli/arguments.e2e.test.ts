/**
 * The command line as an operator meets it (`node bin/quartermaster.mjs …`, a real process): unknown flags are
 * refused with one sentence naming the flag and that verb's usage (exit 2); `--help` on every verb prints its
 * usage and does nothing else (exit 0); `--version`; `link` refuses ids of the wrong shape. No stack traces.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from '../support/cli.js';
import { freePort, root } from '../support/process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'qm-cli-args-'));
// A database no verb below may create: --help and refused command lines touch nothing.
const DATABASE_URL = `file:${path.join(dir, 'untouched.db')}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T = 60_000;

const VERBS: [string[], RegExp][] = [
  [['start'], /Usage: npx quartermaster start/],
  [['migrate'], /Usage: npx quartermaster migrate/],
  [['simulator'], /Usage: npx quartermaster simulator/],
  [['manifest'], /Usage: npx quartermaster manifest slack\|discord/],
  [['manifest', 'slack'], /Usage: npx quartermaster manifest slack\|discord/],
  [['discord'], /Usage: npx quartermaster discord register/],
  [['discord', 'register'], /Usage: npx quartermaster discord register/],
  [['link'], /Usage: npx quartermaster link PLATFORM TEAM_ID USER_ID EMAIL/],
  [['scan'], /Usage: npx quartermaster scan \[--format json\|jsonl\|sarif\]/],
  [['digest'], /Usage: npx quartermaster digest --dry-run/],
  [['doctor'], /Usage: npx quartermaster doctor/],
  [['jobs'], /Usage: npx quartermaster jobs list/],
  [['jobs', 'run'], /Usage: npx quartermaster jobs list/],
];

describe.concurrent('--help on every verb prints its usage and does nothing else', () => {
  for (const [verb, usage] of VERBS) {
    it(
      `${verb.join(' ')} --help`,
      async () => {
        const port = await freePort();
        const r = await runCli([...verb, '--help'], { env: { DATABASE_URL, PORT: String(port), HOST: '127.0.0.1' } });
        // A verb that went on to do its work would serve (and be killed), migrate, or read a file named --help.
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(usage);
        expect(r.stderr).toBe('');
        expect(existsSync(path.join(dir, 'untouched.db'))).toBe(false);
      },
      T,
    );
  }

  it(
    '-h works too, and `help VERB` prints the same usage',
    async () => {
      const [short, topic] = await Promise.all([runCli(['migrate', '-h']), runCli(['help', 'link'])]);
      expect(short.code).toBe(0);
      expect(short.stdout).toMatch(/Usage: npx quartermaster migrate/);
      expect(topic.code).toBe(0);
      expect(topic.stdout).toMatch(/Usage: npx quartermaster link PLATFORM TEAM_ID USER_ID EMAIL/);
    },
    T,
  );
});

describe.concurrent('unknown flags are refused with the verb usage, exit 2', () => {
  it(
    'start --port 41150 does not start on another port: it names the flag',
    async () => {
      const r = await runCli(['start', '--port', '41150'], { env: { DATABASE_URL } });
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe('Unknown option --port.');
      expect(r.stderr).toContain('Usage: npx quartermaster start');
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(r.stdout).toBe('');
    },
    T,
  );

  for (const [args, line, usage] of [
    [['migrate', '--force'], 'Unknown option --force.', 'npx quartermaster migrate'],
    [['simulator', '--prot', '1'], 'Unknown option --prot.', 'npx quartermaster simulator'],
    [['scan', '--fromat', 'sarif'], 'Unknown option --fromat.', 'npx quartermaster scan'],
    [['jobs', 'list', '--all'], 'Unknown option --all.', 'npx quartermaster jobs list'],
    [['discord', 'register', '--global'], 'Unknown option --global.', 'npx quartermaster discord register'],
    [['manifest', 'slack', '-w'], 'Unknown option -w.', 'npx quartermaster manifest'],
    [['doctor', '--verbose'], 'Unknown option --verbose.', 'npx quartermaster doctor'],
    [['link', '--dry-run'], 'Unknown option --dry-run.', 'npx quartermaster link'],
    [['digest', '--dry-rnu'], 'Unknown option --dry-rnu.', 'npx quartermaster digest'],
    [['simulator', '--port'], 'Option --port needs a value.', 'npx quartermaster simulator'],
    [['scan', '--format', 'xml'], '--format must be json, jsonl or sarif, not "xml".', 'npx quartermaster scan'],
    [['frobnicate'], 'Unknown command "frobnicate".', 'npx quartermaster <command>'],
  ] as const) {
    it(
      args.join(' '),
      async () => {
        const r = await runCli([...args], { env: { DATABASE_URL } });
        expect(r.code, r.stdout + r.stderr).toBe(2);
        expect(r.stderr.split('\n')[0]).toBe(line);
        expect(r.stderr).toContain(`Usage: ${usage}`);
        expect(r.stderr).not.toMatch(STACK_LINE);
        expect(existsSync(path.join(dir, 'untouched.db'))).toBe(false);
      },
      T,
    );
  }
});

describe.concurrent('--version and the bare command', () => {
  it(
    '--version prints the package version',
    async () => {
      const r = await runCli(['--version']);
      const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    },
    T,
  );

  it(
    'no command prints the usage and exits 2; --help exits 0',
    async () => {
      const [bare, helped] = await Promise.all([runCli([]), runCli(['--help'])]);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain('Usage: npx quartermaster <command>');
      expect(helped.code).toBe(0);
      expect(helped.stdout).toContain('--version');
    },
    T,
  );
});

describe.concurrent('link checks each id against its platform before touching anything', () => {
  const cases: [string[], string][] = [
    [
      ['slack', 'U0123ABCD', 'T0123ABCD', 'alice@example.com'],
      'TEAM_ID and USER_ID look swapped: "U0123ABCD" is a user id and "T0123ABCD" a team id. TEAM_ID comes first.',
    ],
    [
      ['slack', 'T0123ABCD', 'alice@example.com', 'U0123ABCD'],
      'USER_ID "alice@example.com" is not a Slack user id: U or W followed by capital letters and digits, like U0123ABCD.',
    ],
    [
      ['slack', 't0123abcd', 'U0123ABCD', 'alice@example.com'],
      'TEAM_ID "t0123abcd" is not a Slack team id: T followed by capital letters and digits, like T0123ABCD.',
    ],
    [
      ['discord', 'T0123ABCD', '140000000000000200', 'alice@example.com'],
      'TEAM_ID "T0123ABCD" is not a Discord server id: 17 to 20 digits, like 1400000000000000100.',
    ],
    [
      ['discord', '1400000000000000100', '12345', 'alice@example.com'],
      'USER_ID "12345" is not a Discord user id: 17 to 20 digits, like 1400000000000000200.',
    ],
    [
      ['discord', '1400000000000000100', '1400000000000000200', 'alice'],
      'EMAIL "alice" is not an email address (like alice@example.com).',
    ],
    [['teams', 'T0123ABCD', 'U0123ABCD', 'alice@example.com'], 'PLATFORM must be slack or discord, not "teams".'],
    [['slack', 'T0123ABCD', 'U0123ABCD'], 'link needs four arguments: PLATFORM TEAM_ID USER_ID EMAIL.'],
  ];
  for (const [args, sentence] of cases) {
    it(
      args.join(' '),
      async () => {
        const r = await runCli(['link', ...args], { env: { DATABASE_URL } });
        expect(r.code).toBe(2);
        expect(r.stderr.split('\n')[0]).toBe(sentence);
        expect(r.stderr).toContain('Usage: npx quartermaster link');
        expect(existsSync(path.join(dir, 'untouched.db'))).toBe(false);
      },
      T,
    );
  }
});
