/**
 * The leak intake webhooks over HTTP: `POST /webhooks/github` (GITHUB_WEBHOOK_SECRET) and `POST /webhooks/leaks`
 * (LEAK_WEBHOOK_TOKEN). Thin: authenticate, read the raw body within its cap, hand it to src/core/leaks/intake.ts,
 * write its answer. A webhook whose secret is not configured is not mounted at all (404, as if absent): unsigned
 * input is never taken. Nothing from a body is logged here (JSON parse errors quote their input).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { githubSignatureValid, handleGithubDelivery, handleLeakReport } from '../core/leaks/intake.js';
import type { Services } from '../core/services.js';
import { bearerMatches, type Handler, json, MAX_BODY_BYTES } from './server.js';

/** gitleaks and trufflehog reports of a large repository's history run to megabytes. */
export const MAX_REPORT_BYTES = 5_000_000;

/** Reads the whole body, or null (after answering 413) when it is larger than `limit`. */
async function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: 'payload_too_large', limitBytes: limit }));
      req.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body as UTF-8 text, or null when it is not valid UTF-8 (a signature is over the exact bytes). */
function utf8(body: Buffer): string | null {
  const text = body.toString('utf8');
  return Buffer.from(text, 'utf8').equals(body) ? text : null;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function githubWebhook(services: Services, secret: string): Handler {
  const handler: Handler = async (req, res) => {
    const raw = await readBody(req, res, MAX_BODY_BYTES);
    if (!raw) return;
    const body = utf8(raw);
    if (body === null || !githubSignatureValid(services, secret, body, header(req, 'x-hub-signature-256'))) {
      services.logger.warn({ webhook: 'github' }, 'github webhook refused: missing or invalid X-Hub-Signature-256');
      json(res, 401, {
        error: 'invalid_signature',
        message: 'X-Hub-Signature-256 must be the HMAC-SHA256 of the body under GITHUB_WEBHOOK_SECRET.',
      });
      return;
    }
    const event = header(req, 'x-github-event') ?? '';
    const deliveryId = header(req, 'x-github-delivery') ?? '';
    if (!event || !/^[A-Za-z0-9-]{1,100}$/.test(deliveryId)) {
      json(res, 400, { error: 'bad_request', message: 'X-GitHub-Event and X-GitHub-Delivery are required.' });
      return;
    }
    // GitHub's other content type (its form's default): the JSON in the `payload` field; signed as sent.
    let payload: string | null = body;
    if (/^application\/x-www-form-urlencoded\b/i.test(header(req, 'content-type') ?? '')) {
      payload = new URLSearchParams(body).get('payload');
    }
    if (payload === null) {
      json(res, 400, { error: 'bad_request', message: 'A form-encoded delivery needs its JSON in the payload field.' });
      return;
    }
    const answer = await handleGithubDelivery(services, { event, deliveryId, body: payload });
    json(res, answer.status, answer.body);
  };
  return handler;
}

export function leaksWebhook(services: Services, token: string): Handler {
  const handler: Handler = async (req, res) => {
    // The token first: an unauthenticated caller's body is not even read.
    if (!bearerMatches(header(req, 'authorization'), token)) {
      services.logger.warn({ webhook: 'leaks' }, 'leak report refused: missing or wrong bearer token');
      res.writeHead(401, {
        'www-authenticate': 'Bearer realm="webhooks"',
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'close',
      });
      res.end(
        JSON.stringify({
          error: 'unauthorized',
          message: 'POST /webhooks/leaks needs the header Authorization: Bearer <LEAK_WEBHOOK_TOKEN>.',
        }),
      );
      return;
    }
    const raw = await readBody(req, res, MAX_REPORT_BYTES);
    if (!raw) return;
    const body = utf8(raw);
    if (body === null) {
      json(res, 400, { error: 'bad_request', message: 'The body must be UTF-8 JSON.' });
      return;
    }
    const answer = await handleLeakReport(services, body);
    json(res, answer.status, answer.body);
  };
  handler.maxBodyBytes = MAX_REPORT_BYTES;
  return handler;
}

/** Mounts the webhooks whose secret is configured. */
export function mountWebhooks(
  routes: Map<string, Handler>,
  services: Services,
  config: { GITHUB_WEBHOOK_SECRET?: string; LEAK_WEBHOOK_TOKEN?: string },
): void {
  if (config.GITHUB_WEBHOOK_SECRET)
    routes.set('POST /webhooks/github', githubWebhook(services, config.GITHUB_WEBHOOK_SECRET));
  if (config.LEAK_WEBHOOK_TOKEN) routes.set('POST /webhooks/leaks', leaksWebhook(services, config.LEAK_WEBHOOK_TOKEN));
}
