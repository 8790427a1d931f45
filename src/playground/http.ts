/**
 * The playground's HTTP routes (only ever mounted against the built-in simulated organization, see src/main.ts):
 * the page at `/`, commands and clicks as any simulated member, the event stream, the simulator's clock and faults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Simulator } from '../anthropic/simulator/index.js';
import type { Dispatcher } from '../core/command/dispatch.js';
import type { Reply } from '../core/command/reply.js';
import { JOBS } from '../core/jobs.js';
import type { Services } from '../core/services.js';
import { type Handler, json } from '../http/server.js';
import { runJobOnce } from '../scheduler/scheduler.js';
import type { PlaygroundHub } from './hub.js';
import { PLAYGROUND_CHANNEL, PLAYGROUND_TEAM, playgroundMember } from './members.js';
import { playgroundPage } from './page.js';

/** A clock the page can move forward: the core's and the simulator's time, by the same offset. */
export class PlaygroundClock {
  offsetMs = 0;
  constructor(private readonly base: () => Date = () => new Date()) {}
  now = (): Date => new Date(this.base().getTime() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface PlaygroundOptions {
  dispatcher: Dispatcher;
  services: Services;
  hub: PlaygroundHub;
  simulator: Simulator;
  clock: PlaygroundClock | null;
}

const MAX_BODY = 16_000;

const bad = (res: ServerResponse, message: string) => json(res, 400, { error: 'bad_request', message });

type Body = Record<string, unknown>;

/** The JSON object a route was sent; otherwise the answer has been given (413 too large, 400 not a JSON object). */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<Body | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) {
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: 'payload_too_large', limitBytes: MAX_BODY }));
      req.destroy();
      return null;
    }
    chunks.push(c as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    bad(res, 'The body is not valid JSON.');
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    bad(res, 'The body must be a JSON object, such as {"member": "UBOB", "text": "/qm help"}.');
    return null;
  }
  return v as Body;
}

/**
 * JSON only: a form or text/plain post from another site (which needs no CORS preflight) is refused unread, so a
 * page elsewhere cannot type commands into this playground.
 */
function jsonOnly(h: Handler): Handler {
  const wrapped: Handler = (req, res) => {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      json(res, 415, { error: 'unsupported_media_type', message: 'Send JSON with content-type: application/json.' });
      return;
    }
    return h(req, res);
  };
  wrapped.maxBodyBytes = MAX_BODY;
  return wrapped;
}

const FAULTS = {
  '429': { status: 429, times: 3, retryAfter: 1 },
  '500': { status: 500, times: 3 },
  slow: { status: 0, times: 10, delayMs: 3_000 },
} as const;

export function mountPlayground(routes: Map<string, Handler>, o: PlaygroundOptions): void {
  const { dispatcher, hub } = o;
  const chat = null;

  routes.set('GET /', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(playgroundPage(o.simulator.state.orgName));
  });
  routes.set('GET /playground/events', (_req, res) => hub.subscribe(res));

  const command: Handler = async (req, res) => {
    const body = await readJson(req, res);
    if (!body) return;
    const member = playgroundMember(body.member);
    if (!member) return bad(res, 'Say who you are: {"member": "UBOB", "text": "/qm help"}.');
    if (typeof body.text !== 'string' || body.text.length > 4_000)
      return bad(res, 'Type a command: {"text": "/qm help"} (at most 4000 characters).');
    // As typed in Slack: `/qm` first, or only what follows it.
    const text = body.text.trim().replace(/^\/qm(\s+|$)/, '');
    const result = await dispatcher.dispatch({
      platform: 'playground',
      teamId: PLAYGROUND_TEAM,
      userId: member.id,
      channelId: PLAYGROUND_CHANNEL,
      prefix: '/qm',
      input: { kind: 'text', text },
      chat,
      deliver: async (reply: Reply) => {
        if (reply.visibility === 'in_channel') {
          const m = hub.add('channel', member.id, reply);
          return { channelId: PLAYGROUND_CHANNEL, messageId: m.id };
        }
        hub.add('ephemeral', member.id, reply);
        return undefined;
      },
    });
    json(res, 200, { outcome: result.outcome, errorCode: result.errorCode, command: result.command });
  };
  routes.set('POST /playground/command', jsonOnly(command));

  const click: Handler = async (req, res) => {
    const body = await readJson(req, res);
    if (!body) return;
    const member = playgroundMember(body.member);
    if (!member) return bad(res, 'Say who you are: {"member": "UALICE", "actionId": …, "messageId": …}.');
    if (typeof body.actionId !== 'string' || typeof body.messageId !== 'string')
      return bad(res, 'A click needs the button\'s "actionId" and the "messageId" it is on.');
    const messageId = body.messageId;
    if (!hub.get(messageId)) return bad(res, 'There is no such message.');
    const result = await dispatcher.dispatchAction({
      platform: 'playground',
      teamId: PLAYGROUND_TEAM,
      userId: member.id,
      channelId: PLAYGROUND_CHANNEL,
      actionId: body.actionId,
      messageId,
      chat,
      updateCard: async (reply) => {
        hub.update(messageId, reply);
      },
      notify: async (reply) => {
        hub.add('ephemeral', member.id, reply);
      },
    });
    json(res, 200, result);
  };
  routes.set('POST /playground/click', jsonOnly(click));

  const clock: Handler = async (req, res) => {
    const body = await readJson(req, res);
    if (!body) return;
    const minutes = Number(body.minutes);
    if (!o.clock) return json(res, 409, { error: 'fixed_clock', message: 'This process runs on a fixed clock.' });
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 60 * 24 * 31)
      return bad(res, 'Move the clock forward by {"minutes": N} (1 to 44640).');
    o.clock.advance(minutes * 60_000);
    // What would have run in that time runs now: expiries, reminders, grants, digests.
    const ran: Record<string, string | null> = {};
    for (const job of JOBS) {
      ran[job.name] = await runJobOnce(job, o.services).catch((err: Error) => `failed: ${err.message}`);
    }
    json(res, 200, { now: o.clock.now().toISOString(), jobs: ran });
  };
  routes.set('POST /playground/clock', jsonOnly(clock));

  const faults: Handler = async (req, res) => {
    const body = await readJson(req, res);
    if (!body) return;
    const kind = body.fault;
    if (kind === 'clear') o.simulator.faults.clear();
    else if (kind === '429' || kind === '500' || kind === 'slow') o.simulator.faults.inject({ ...FAULTS[kind] });
    else return bad(res, 'Choose a fault: {"fault": "429" | "500" | "slow" | "clear"}.');
    json(res, 200, { pending: o.simulator.faults.pending().length });
  };
  routes.set('POST /playground/faults', jsonOnly(faults));
}
