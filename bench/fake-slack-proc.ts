/**
 * A child process of the benchmark (never imported): the Slack side of the measurement. It runs the project's
 * FakeSlack (test/fakes/slack.ts: Web API for auth.test and users.info, and the response_url endpoint) and the
 * load generator, which POSTs slash commands signed exactly as Slack signs them (v0 HMAC-SHA256 of
 * `v0:<timestamp>:<body>`) on a wall-clock schedule (open loop: it never waits for earlier answers). Living in
 * its own process, its CPU is not counted against the bot or the floor, and it times acks and replies with
 * its own clock. Driven over IPC by bench/run.ts (see FakeSlackClient in bench/world.ts).
 */
import { Agent, request } from 'node:http';
import { BOT_TOKEN, FakeSlack, FORM, visibleText } from '../test/fakes/slack.js';

export interface LoadRequest {
  /** The app's base URL; commands go to <url>/slack/events. */
  url: string;
  text: string;
  /** Slack user ids, used round-robin. */
  users: string[];
  n: number;
  perSecond: number;
  /** How long to wait for the replies after the last ack. */
  replyTimeoutMs: number;
  /** A reply counts as an answer (not a refusal or an error) when its visible text contains this. */
  expect: string;
}

export interface LoadResult {
  n: number;
  /** Per command, ms from sending the POST to the end of its response; Infinity when it failed or timed out. */
  ackMs: number[];
  statuses: Record<string, number>;
  /** Acks slower than 3 s, non-200 answers and failed requests. */
  late: number;
  replies: number;
  /** Replies whose text contains `expect`; one of them when none does. */
  answered: number;
  sampleOther: string | null;
  /** From the first scheduled send to the last reply that arrived, ms. */
  lastReplyMs: number;
  /** How far behind its schedule the generator sent (its own health), ms. */
  sendLagMaxMs: number;
  sendSpanMs: number;
}

export interface CommandResult {
  status: number;
  ackMs: number;
  /** From the POST to the reply on the response_url; null when none came in time. */
  replyMs: number | null;
  reply: string | null;
}

type Message =
  | { id: number; op: 'start' }
  | { id: number; op: 'addUsers'; users: { id: string; name: string; email: string }[] }
  | ({ id: number; op: 'load' } & LoadRequest)
  | { id: number; op: 'command'; url: string; text: string; user: string; timeoutMs: number };

/** After this long an ack counts as failed (Infinity); Slack itself gives up after 3 s. */
const ACK_GIVE_UP_MS = 15_000;
const fake = new FakeSlack();
// One connection per command, as a webhook sender without a pool would: no keep-alive race (a server closing an idle
// socket as the next request arrives on it) can be counted against the server.
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
/** Reply waiters by response id; every reply is also counted for the load in progress. */
const waiting = new Map<string, (r: { at: number; body: unknown }) => void>();
let onAnyReply: ((id: string, at: number, body: unknown) => void) | null = null;

function hookReplies(): void {
  // FakeSlack records every response_url POST in `responses`; time them on arrival, and keep none
  // (a benchmark posts thousands).
  fake.responses.push = (...items) => {
    const at = performance.now();
    for (const r of items) {
      onAnyReply?.(r.id, at, r.body);
      waiting.get(r.id)?.({ at, body: r.body });
    }
    return 0;
  };
}

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': FORM, 'content-length': String(Buffer.byteLength(body)), ...headers },
        // Slack gives up after 3 s; waiting longer only tells how late a failed ack was.
        timeout: ACK_GIVE_UP_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

let responseSeq = 0;

async function load(o: LoadRequest): Promise<LoadResult> {
  const endpoint = `${o.url}/slack/events`;
  const ids: string[] = [];
  const bodies: string[] = [];
  for (let i = 0; i < o.n; i++) {
    const responseId = `load${process.pid}x${++responseSeq}`;
    ids.push(responseId);
    bodies.push(fake.slashCommandBody(o.text, o.users[i % o.users.length]!, responseId));
  }
  const expected = new Set(ids);
  let replies = 0;
  let answered = 0;
  let sampleOther: string | null = null;
  let lastReplyAt = Number.NaN;
  let allReplied: () => void = () => {};
  const repliedAll = new Promise<void>((resolve) => {
    allReplied = resolve;
  });
  onAnyReply = (id, at, body) => {
    if (!expected.delete(id)) return;
    replies++;
    const text = visibleText(body);
    if (text.includes(o.expect)) answered++;
    else sampleOther ??= text.slice(0, 300);
    lastReplyAt = at;
    if (expected.size === 0) allReplied();
  };

  const ackMs = new Array<number>(o.n).fill(Number.NaN);
  const statuses: Record<string, number> = {};
  let late = 0;
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / o.perSecond;
  const t0 = performance.now() + 20;
  let lagMax = 0;
  const send = (i: number) => {
    const started = performance.now();
    lagMax = Math.max(lagMax, started - (t0 + i * interval));
    const body = bodies[i]!;
    inFlight.push(
      post(endpoint, body, fake.sign(body)).then(
        ({ status }) => {
          const ms = performance.now() - started;
          ackMs[i] = ms;
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== 200 || ms > 3000) late++;
        },
        (err: Error) => {
          ackMs[i] = Number.POSITIVE_INFINITY;
          statuses[err.message] = (statuses[err.message] ?? 0) + 1;
          late++;
        },
      ),
    );
  };
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < o.n && t0 + next * interval <= now) send(next++);
      if (next >= o.n) return resolve();
      setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const sendSpanMs = performance.now() - t0;
  await Promise.all(inFlight);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    repliedAll,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, o.replyTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  onAnyReply = null;
  return {
    n: o.n,
    ackMs,
    statuses,
    late,
    replies,
    answered,
    sampleOther,
    lastReplyMs: lastReplyAt - t0,
    sendLagMaxMs: lagMax,
    sendSpanMs,
  };
}

async function command(url: string, text: string, user: string, timeoutMs: number): Promise<CommandResult> {
  const responseId = `cmd${process.pid}x${++responseSeq}`;
  const replied = new Promise<{ at: number; body: unknown }>((resolve) => {
    waiting.set(responseId, resolve);
  });
  const body = fake.slashCommandBody(text, user, responseId);
  const started = performance.now();
  const { status } = await post(`${url}/slack/events`, body, fake.sign(body));
  const ackMs = performance.now() - started;
  let timer: NodeJS.Timeout | undefined;
  const got = await Promise.race([
    replied,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  waiting.delete(responseId);
  return {
    status,
    ackMs,
    replyMs: got === null ? null : got.at - started,
    reply: got === null ? null : visibleText(got.body).slice(0, 400),
  };
}

process.on('message', (raw) => {
  const m = raw as Message;
  const answer = (p: Promise<unknown>) =>
    p.then(
      (result) => process.send?.({ id: m.id, ok: true, result }),
      (err: Error) => process.send?.({ id: m.id, ok: false, error: err.stack ?? String(err) }),
    );
  switch (m.op) {
    case 'start':
      void answer(
        fake.start().then(() => {
          hookReplies();
          return { base: fake.base, apiUrl: fake.apiUrl, botToken: BOT_TOKEN };
        }),
      );
      break;
    case 'addUsers':
      for (const u of m.users) fake.addUser({ id: u.id, name: u.name, email: u.email });
      void answer(Promise.resolve(fake.users.size));
      break;
    case 'load':
      void answer(load(m));
      break;
    case 'command':
      void answer(command(m.url, m.text, m.user, m.timeoutMs));
      break;
  }
});
process.on('disconnect', () => process.exit(0));
