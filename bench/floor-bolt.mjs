// The floor of `npm run bench`: a bare Bolt app (the project's own @slack/bolt) that does the least a Slack app
// can do. Started with plain node, it listens with an HTTPReceiver on PORT (127.0.0.1) and answers `/qm` with
// `await ack(); await respond({ text: 'ok' })`, talking to the same fake Slack as the bot (SLACK_API_URL).
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET, endpoints: '/slack/events' });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  receiver,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.command('/qm', async ({ ack, respond }) => {
  await ack();
  await respond({ text: 'ok' });
});
await app.start({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = () => app.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
