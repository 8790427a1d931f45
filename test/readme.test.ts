/** README tells the truth about what `npm start` serves: its counts are the simulator's own summary. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../src/anthropic/simulator/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, host: '127.0.0.1' });
});
afterAll(() => sim?.close());

describe('README', () => {
  it('counts the simulated organization as the simulator does (its banner and the start-up guidance)', () => {
    expect(readme).toContain(`"${sim.state.orgName}": ${sim.state.summary()})`);
  });

  it('tells what leak scanning needs: the Slack scopes and events, the Discord intent, the webhooks', () => {
    for (const needed of [
      'channels:history',
      'groups:history',
      'message.channels',
      'DISCORD_MESSAGE_CONTENT',
      'Message Content',
      'Manage Messages',
      'SLACK_ADMIN_USER_TOKEN',
      'GITHUB_WEBHOOK_SECRET',
      'LEAK_WEBHOOK_TOKEN',
      'pre-commit',
    ])
      expect(readme).toContain(needed);
  });

  it('describes the digest the command line prints, and what is estimated', () => {
    expect(readme).toContain('npx quartermaster digest --dry-run [--date YYYY-MM-DD] [--format text|json]');
    expect(readme).toMatch(/money per key, per model and per member\. The cost report cannot be split by key/);
    expect(readme).toContain('`/qm usage [period] [by]`');
  });
});
