/**
 * One HTTP listener for everything (DESIGN.md operator contract): Slack's events endpoint, Discord interactions,
 * the leak intake webhooks (./webhooks.ts), health and readiness. Each route is a plain node handler.
 *
 * Nothing a client sends may take the listener down: an unparseable request target gets 400, a request Node's
 * parser rejects gets 400 (431 for oversized headers) and its socket is closed, a declared body over the limit
 * gets 413 without being read, and a handler that throws (synchronously or not) is logged and answered 500
 * while the server keeps serving.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../core/ports/runtime.js';
import type { Store } from '../core/ports/store.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export type Handler = ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>) & {
  /** The largest body this route takes, when not MAX_BODY_BYTES (a declared larger one gets 413 unread). */
  maxBodyBytes?: number;
};

/** The largest request body a route accepts unless it says otherwise (Slack and Discord payloads are a few kilobytes). */
export const MAX_BODY_BYTES = 1_000_000;

export interface HttpOptions {
  store: Store;
  logger: Logger;
  /** Routes by exact path, e.g. `POST /slack/events`. */
  routes: Map<string, Handler>;
  metrics?: Metrics;
  /** METRICS_TOKEN: when set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** The chat platforms' and the Admin API's current problems, reported by `/readyz`. */
  readiness?: Readiness;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The path of a request target, or null when it cannot be one: origin-form (`/path?query`) and absolute-form
 * (`http://host:port/path`, which proxies send) are accepted when they parse; anything else is not a target.
 */
export function requestPath(target: string | undefined): string | null {
  if (!target) return null;
  const base = 'http://localhost';
  if (target.startsWith('/')) return URL.canParse(target, base) ? new URL(target, base).pathname : null;
  if (/^https?:\/\//i.test(target) && URL.canParse(target)) return new URL(target).pathname;
  return null;
}

/** Compares a presented bearer token with the configured one in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  // Digests have equal lengths, so neither the token's content nor its length leaks through timing.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

export function createHttpServer(o: HttpOptions): Server {
  const routes = new Map(o.routes);
  routes.set('GET /healthz', (_req, res) => json(res, 200, { status: 'ok' }));
  if (o.metrics) {
    const metrics = o.metrics;
    routes.set('GET /metrics', async (req, res) => {
      if (o.metricsToken && !bearerMatches(req.headers.authorization, o.metricsToken)) {
        res.writeHead(401, {
          'www-authenticate': 'Bearer realm="metrics"',
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end('GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>.\n');
        return;
      }
      const body = await metrics.render(o.store);
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
      res.end(body);
    });
  }
  routes.set('GET /readyz', async (_req, res) => {
    const problems: string[] = [];
    try {
      await o.store.health.ping();
      const pending = await o.store.health.pendingMigrations();
      if (pending.length) {
        // Names stay in the log: this endpoint is unauthenticated.
        o.logger.warn({ pending }, 'readiness check: database migrations not applied');
        problems.push(
          `${pending.length} database migration${pending.length === 1 ? ' is' : 's are'} not applied; run: npx quartermaster migrate`,
        );
      }
    } catch (err) {
      // The details (host, user) stay in the log: this endpoint is unauthenticated.
      o.logger.warn({ err }, 'readiness check: database unreachable');
      problems.push('database unreachable');
    }
    problems.push(...(o.readiness?.list() ?? []));
    if (problems.length) json(res, 503, { status: 'not ready', problems });
    else json(res, 200, { status: 'ready' });
  });

  const failed = (err: unknown, req: IncomingMessage, res: ServerResponse, path: string | null) => {
    if (!req.complete && (err as NodeJS.ErrnoException)?.code === 'ECONNRESET') {
      // The client went away before sending its whole body: nobody is left to answer.
      o.logger.debug({ method: req.method, path }, 'client closed the connection mid-request');
      res.destroy();
      return;
    }
    o.logger.error({ err, method: req.method, path }, 'http handler failed');
    if (!res.headersSent) json(res, 500, { error: 'internal_error' });
    else res.end();
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = requestPath(req.url);
    if (path === null) {
      json(res, 400, { error: 'bad_request', message: 'The request target is not a valid URL path.' });
      return;
    }
    const handler = routes.get(`${req.method} ${path}`);
    if (!handler) {
      const allowed = [...routes.keys()].filter((k) => k.endsWith(` ${path}`)).map((k) => k.split(' ')[0]);
      if (allowed.length) {
        res.writeHead(405, { allow: allowed.join(', '), 'content-type': 'text/plain' });
        res.end('Method Not Allowed');
        return;
      }
      json(res, 404, { error: 'not_found' });
      return;
    }
    const declared = Number(req.headers['content-length']);
    const limit = handler.maxBodyBytes ?? MAX_BODY_BYTES;
    if (Number.isFinite(declared) && declared > limit) {
      // Do not read it: answer and close the connection.
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: 'payload_too_large', limitBytes: limit }));
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err) => failed(err, req, res, path));
  };

  const server = createServer((req, res) => {
    // Last resort: whatever throws while routing is logged, answered, and the server keeps serving.
    try {
      listener(req, res);
    } catch (err) {
      failed(err, req, res, null);
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    o.logger.debug({ code: err.code }, 'malformed HTTP request refused');
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
