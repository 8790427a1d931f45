/**
 * One HTTP listener for everything (DESIGN.md operator contract): Slack's events endpoint, health and
 * readiness; later Discord interactions and webhooks. Each route is a plain node handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/ports/runtime.js';
import type { Store } from '../core/ports/store.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpOptions {
  store: Store;
  logger: Logger;
  /** Routes by exact path, e.g. `POST /slack/events`. */
  routes: Map<string, Handler>;
  metrics?: Metrics;
  /** The chat platforms' and the Admin API's current problems, reported by `/readyz`. */
  readiness?: Readiness;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export function createHttpServer(o: HttpOptions): Server {
  const routes = new Map(o.routes);
  routes.set('GET /healthz', (_req, res) => json(res, 200, { status: 'ok' }));
  if (o.metrics) {
    const metrics = o.metrics;
    routes.set('GET /metrics', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(await metrics.render(o.store));
    });
  }
  routes.set('GET /readyz', async (_req, res) => {
    const problems: string[] = [];
    try {
      await o.store.health.ping();
      const pending = await o.store.health.pendingMigrations();
      if (pending.length) problems.push(`migrations not applied: ${pending.join(', ')}`);
    } catch (err) {
      // The details (host, user) stay in the log: this endpoint is unauthenticated.
      o.logger.warn({ err }, 'readiness check: database unreachable');
      problems.push('database unreachable');
    }
    problems.push(...(o.readiness?.list() ?? []));
    if (problems.length) json(res, 503, { status: 'not ready', problems });
    else json(res, 200, { status: 'ready' });
  });

  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err) => {
        o.logger.error({ err, path }, 'http handler failed');
        if (!res.headersSent) json(res, 500, { error: 'internal_error' });
        else res.end();
      });
  });
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
