import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator } from '../src/anthropic/simulator/index.js';
import { BOT_TOKEN, FakeSlack, SIGNING_SECRET, visibleText, waitFor } from '../test/fakes/slack.js';
import { ADMIN_KEY } from '../test/support/app.js';
import { runToExit, startBotProcess, stopBotProcess } from '../test/support/process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'qm-stranger-'));
const sim = await startSimulator({ adminKeys: [ADMIN_KEY] });
const slack = await new FakeSlack()
  .addUser({ id: 'UALICE', name: 'alice', email: 'alice@example.com' })
  .addUser({ id: 'UBOB', name: 'bob', email: 'bob@example.com' })
  .start();
const env = {
  DATABASE_URL: `file:${dir}/qm.db`,
  ANTHROPIC_ADMIN_KEY: ADMIN_KEY,
  ANTHROPIC_BASE_URL: sim.url,
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
};
const bot = await startBotProcess(['npm', 'start'], env);
try {
  const link = await runToExit(['node', 'bin/quartermaster.mjs', 'link', 'slack', 'T0QM', 'UALICE', 'alice@example.com'], env);
  console.log('LINK', link.code, link.stdout.trim().split('\n').at(-1), link.stderr.trim().slice(0, 400));
  await runToExit(['node', 'bin/quartermaster.mjs', 'link', 'slack', 'T0QM', 'UBOB', 'bob@example.com'], env);
  for (const [u, text] of [
    ['UBOB', 'limits set org 5000'],
    ['UBOB', 'limits set workspace staging -5'],
    ['UBOB', 'limits set workspace staging 10 enforce:true'],
    ['UALICE', 'limits set workspace staging 1 enforce:true reenable:manual'],
    ['UALICE', 'limits show'],
    ['UBOB', 'limits show'],
    ['UALICE', 'limits rate staging'],
  ] as const) {
    const r = await slack.command(bot.url, text, u);
    console.log(`\n>>> ${u}: /qm ${text}  (ack ${r.ackMs} ms)\n${visibleText(r.reply)}`);
  }
  const run = await runToExit(['node', 'bin/quartermaster.mjs', 'jobs', 'run', 'usage.sync'], env, 120_000);
  console.log('\nJOBS RUN usage.sync (while the bot runs):', run.code, run.stdout.trim());
  const card = await waitFor(() => [...slack.messages.values()].find((m) => slack.buttons(m)['Re-enable']), 20_000);
  console.log('\nCARD\n', visibleText(card));
  await slack.click(bot.url, { user: 'UALICE', actionId: slack.buttons(card)['Re-enable']!, message: card });
  await waitFor(() => (/Done/.test(visibleText(slack.messages.get(card.ts)!)) ? true : undefined), 20_000);
  console.log('\nAFTER\n', visibleText(slack.messages.get(card.ts)!));
  console.log('\nstaging keys:', sim.state.apiKeys.filter((k) => k.name.startsWith('staging')).map((k) => `${k.name}=${sim.state.keyStatus(k)}`).join(' '));
} finally {
  await stopBotProcess(bot);
  console.log('\nBOT LOG TAIL\n', bot.output().split('\n').filter((l) => /limit|budget|error|warn/i.test(l)).slice(-10).join('\n'));
  await slack.stop?.();
  await sim.close();
}
