import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { claudeCodeReport } from './claude-code.js';
import { SIMULATOR_ADMIN_KEY } from './demo-key.js';
import { listOrgRateLimits, listWorkspaceRateLimits, RateLimitRouteError } from './rate-limits.js';
import { arrayParam, costReport, ReportError, usageReport } from './reports.js';
import {
  SIMULATED_ORG_ID,
  type SimApiKey,
  type SimInvite,
  type SimMember,
  type SimUser,
  SimulatorState,
  type SimWorkspace,
  seedDemo,
  seedLarge,
  simulatedSecret,
} from './state.js';
import type { UsageRevision } from './usage.js';

export { claudeCodeRecords } from './claude-code.js';
export {
  defaultRateLimits,
  GROUP_TYPES,
  type SimRateLimit,
  type SimRateLimitValue,
  type SimWorkspaceRateLimit,
} from './rate-limits.js';
export type { SimApiKey, SimInvite, SimMember, SimUser, SimWorkspace } from './state.js';
export {
  keyHint,
  type LargeSeedOptions,
  SimulatorState,
  seedDemo,
  seedLarge,
  simId,
  simulatedSecret,
} from './state.js';
export {
  formatCents,
  type ServiceTier,
  SIM_PRICES,
  type SimModelPrice,
  tokenCostUnits,
  UNITS_PER_CENT,
  type UsageRevision,
  type UsageRow,
  usageCostByTokenType,
  usageCostUnits,
} from './usage.js';
export { SIMULATOR_ADMIN_KEY };

export interface Fault {
  /** HTTP status to answer with; 0 means "only delay, then handle the request normally". */
  status: number;
  /** How many matching requests the fault affects (default 1); Infinity (or -1 over HTTP) until cleared. */
  times?: number;
  /** Exact pathname (no query) or a pattern tested against it. */
  path?: string | RegExp;
  method?: string;
  /**
   * Query parameters the request must carry (each name = value; for repeated parameters, any value), e.g.
   * `{ bucket_width: '1h' }` to fail only the hourly usage pages.
   */
  query?: Record<string, string>;
  /**
   * Let this many matching requests through (counted from injection) before the fault starts: `after: 2,
   * times: 3` makes the 3rd, 4th and 5th matching requests fail.
   */
  after?: number;
  /** Seconds, sent as `retry-after`; 429 faults default to 1. Fractions are allowed to keep tests fast. */
  retryAfter?: number;
  /** Sent as `x-should-retry`. */
  shouldRetry?: boolean;
  delayMs?: number;
  /** Response body; defaults to the API's error envelope for the status. */
  body?: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** Filled in when the response is sent; null while in flight or if the client went away first. */
  status: number | null;
  headers: Record<string, string | string[] | undefined>;
}

export interface Simulator {
  url: string;
  adminKey: string;
  state: SimulatorState;
  faults: { inject(f: Fault): void; clear(): void; pending(): Fault[] };
  requests: RecordedRequest[];
  /** Reseeds the state, clears faults and the request log. */
  reset(): void;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  adminKeys?: string[];
  /** `large`: the benchmark organization (2,000 members, 100 workspaces, 10,000 keys; see seedLarge). */
  seed?: 'demo' | 'empty' | 'large';
  now?: () => Date;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Invalid request',
  401: 'invalid x-api-key',
  403: 'Permission denied',
  404: 'Not found',
  409: 'Conflict',
  429: 'Rate limited',
  500: 'Internal server error',
  529: 'Overloaded',
};
const errorType = (status: number) => ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

const ORG_ROLES = ['user', 'developer', 'billing', 'claude_code_user'];
const WORKSPACE_ROLES = ['workspace_user', 'workspace_developer', 'workspace_restricted_developer', 'workspace_admin'];
const KEY_STATUSES = ['active', 'inactive', 'archived', 'expired'];
const MAX_BODY = 1_000_000;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const now = opts.now ?? (() => new Date());
  const seed = opts.seed ?? 'demo';
  const state = new SimulatorState(now);
  const acceptedKeys = new Set([SIMULATOR_ADMIN_KEY, ...(opts.adminKeys ?? [])]);
  const faults: Array<Fault & { remaining: number; skip: number }> = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let requestCounter = 0;

  const reseed = () => {
    state.clear();
    if (seed === 'demo') seedDemo(state);
    else if (seed === 'large') seedLarge(state);
  };
  reseed();

  const nextRequestId = () => {
    requestCounter++;
    const h = createHash('sha256').update(`req:${requestCounter}:${Date.now()}`).digest('base64url');
    return `req_011C${h.replace(/[-_]/g, 'x').slice(0, 20)}`;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  };

  const sendError = (res: ServerResponse, requestId: string, status: number, message?: string, extra = {}) =>
    sendJson(
      res,
      status,
      {
        type: 'error',
        error: { type: errorType(status), message: message ?? DEFAULT_MESSAGES[status] ?? 'Error' },
        request_id: requestId,
      },
      { 'request-id': requestId, ...extra },
    );

  const takeFault = (method: string, path: string, query: URLSearchParams): Fault | null => {
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i]!;
      const matches =
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined || (typeof f.path === 'string' ? f.path === path : f.path.test(path))) &&
        (f.query === undefined ||
          Object.entries(f.query).every(([name, value]) => query.getAll(name).includes(String(value))));
      if (!matches) continue;
      if (f.skip > 0) {
        // Counted but let through; a later fault may still match this request.
        f.skip--;
        continue;
      }
      f.remaining--;
      if (f.remaining <= 0) faults.splice(i, 1);
      return f;
    }
    return null;
  };

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const injectFault = (f: Fault) => {
    const times = f.times === undefined ? 1 : f.times < 0 ? Number.POSITIVE_INFINITY : f.times;
    faults.push({ ...f, remaining: times, skip: Math.max(0, f.after ?? 0) });
  };

  const api = new Api(state);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (path.startsWith('/_simulator/')) {
      await handleControl(method, path, req, res);
      return;
    }

    const requestId = nextRequestId();
    const record: RecordedRequest = {
      method,
      path,
      query: queryRecord(url.searchParams),
      status: null,
      headers: { ...req.headers },
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    const fault = takeFault(method, path, url.searchParams);
    if (fault) {
      if (fault.delayMs) await delay(fault.delayMs);
      if (fault.status !== 0) {
        const headers: Record<string, string> = { 'request-id': requestId };
        const retryAfter = fault.retryAfter ?? (fault.status === 429 ? 1 : undefined);
        if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
        if (fault.shouldRetry !== undefined) headers['x-should-retry'] = String(fault.shouldRetry);
        if (fault.body !== undefined) sendJson(res, fault.status, fault.body, headers);
        else sendError(res, requestId, fault.status, undefined, headers);
        return;
      }
    }

    const credential = apiKeyOf(req);
    if (credential === null) {
      sendError(res, requestId, 401, 'x-api-key header is required');
      return;
    }
    // The Models API, as an ordinary API key sees it: what Quartermaster's leak check asks (is this key real?).
    // The simulated org's active keys are accepted with their own secret; anything else is refused like the API.
    if (path === '/v1/models' && method === 'GET' && !acceptedKeys.has(credential)) {
      const key = state.apiKeys.find((k) => simulatedSecret(k) === credential);
      if (!key || state.keyStatus(key) !== 'active') {
        sendError(res, requestId, 401, 'invalid x-api-key');
        return;
      }
      sendJson(
        res,
        200,
        {
          data: [
            {
              type: 'model',
              id: 'claude-sonnet-4-5-20250929',
              display_name: 'Claude Sonnet 4.5',
              created_at: '2025-09-29T00:00:00Z',
            },
          ],
          has_more: false,
          first_id: 'claude-sonnet-4-5-20250929',
          last_id: 'claude-sonnet-4-5-20250929',
        },
        { 'request-id': requestId },
      );
      return;
    }
    if (!acceptedKeys.has(credential)) {
      sendError(res, requestId, 401, 'invalid x-api-key');
      return;
    }
    if (!req.headers['anthropic-version']) {
      sendError(res, requestId, 400, 'anthropic-version: header is required');
      return;
    }

    try {
      const body = method === 'POST' ? await readJson(req) : undefined;
      const result = api.route(method, path, url.searchParams, body);
      sendJson(res, 200, result, { 'request-id': requestId });
    } catch (e) {
      if (e instanceof HttpError) sendError(res, requestId, e.status, e.message);
      else if (e instanceof ReportError) sendError(res, requestId, 400, e.message);
      else if (e instanceof RateLimitRouteError) sendError(res, requestId, e.status, e.message);
      else sendError(res, requestId, 500, 'Internal server error');
    }
  };

  const handleControl = async (method: string, path: string, req: IncomingMessage, res: ServerResponse) => {
    try {
      if (path === '/_simulator/faults' && method === 'POST') {
        const body = (await readJson(req)) as Record<string, unknown> | undefined;
        if (!body || typeof body.status !== 'number') throw new HttpError(400, 'fault needs a numeric status');
        const fault = { ...body } as unknown as Fault & { pathPattern?: string };
        if (typeof fault.pathPattern === 'string') fault.path = new RegExp(fault.pathPattern);
        delete fault.pathPattern;
        injectFault(fault);
        sendJson(res, 200, { ok: true, pending: faults.length });
      } else if (path === '/_simulator/faults' && method === 'DELETE') {
        faults.length = 0;
        sendJson(res, 200, { ok: true });
      } else if (path === '/_simulator/reset' && method === 'POST') {
        resetAll();
        sendJson(res, 200, { ok: true });
      } else if (path === '/_simulator/state' && method === 'GET') {
        sendJson(res, 200, state.toJSON());
      } else if (path === '/_simulator/usage' && method === 'GET') {
        const q = new URL(req.url ?? '/', 'http://simulator.local').searchParams;
        const from = Date.parse(q.get('from') ?? '');
        const to = Date.parse(q.get('to') ?? '');
        if (Number.isNaN(from) || Number.isNaN(to)) throw new HttpError(400, 'from and to (RFC 3339) are required');
        sendJson(res, 200, { data: state.usageRows(from, to) });
      } else if (path === '/_simulator/usage/revise' && method === 'POST') {
        const body = (await readJson(req)) as Record<string, unknown> | undefined;
        if (!body || !('apiKeyId' in body) || body.hourStart === undefined) {
          throw new HttpError(400, 'revision needs apiKeyId (string or null) and hourStart');
        }
        try {
          state.reviseUsage(body as unknown as UsageRevision);
        } catch (e) {
          throw new HttpError(400, e instanceof Error ? e.message : String(e));
        }
        sendJson(res, 200, { ok: true });
      } else if (path === '/_simulator/requests' && method === 'GET') {
        sendJson(res, 200, { data: requests });
      } else {
        throw new HttpError(404, `No simulator control endpoint ${method} ${path}`);
      }
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      sendJson(res, status, { ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const resetAll = () => {
    reseed();
    faults.length = 0;
    requests.length = 0;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { type: 'error', error: { type: 'api_error', message: 'simulator' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    adminKey: SIMULATOR_ADMIN_KEY,
    state,
    faults: {
      inject: injectFault,
      clear: () => {
        faults.length = 0;
      },
      pending: () => faults.map(({ remaining: _r, skip: _s, ...f }) => f),
    },
    requests,
    reset: resetAll,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function apiKeyOf(req: IncomingMessage): string | null {
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x;
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!;
  }
  return null;
}

function queryRecord(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(q.keys())) {
    const all = q.getAll(key);
    out[key] = all.length === 1 ? all[0]! : all;
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
}

type Query = URLSearchParams;
type Body = Record<string, unknown>;

/** Admin API semantics over SimulatorState; throws HttpError for every documented refusal. */
class Api {
  constructor(private readonly s: SimulatorState) {}

  route(method: string, path: string, q: Query, rawBody: unknown): unknown {
    const body: Body = rawBody && typeof rawBody === 'object' && !Array.isArray(rawBody) ? (rawBody as Body) : {};
    const p = path.split('/').slice(1); // ['v1','organizations',...]
    if (p[0] !== 'v1' || p[1] !== 'organizations') throw new HttpError(404, 'Not found');
    const [resource, id, sub, subId] = p.slice(2);
    const isReport = resource === 'usage_report' || resource === 'cost_report';
    if (!isReport && q.has('limit')) {
      const limit = Number(q.get('limit'));
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new HttpError(400, 'limit: Input should be greater than or equal to 1 and less than or equal to 1000');
      }
    }
    const route = `${method} ${resource ?? ''}${id ? '/:id' : ''}${sub ? `/${sub}` : ''}${subId ? '/:sub' : ''}`;
    switch (route) {
      case 'GET me':
        return { id: SIMULATED_ORG_ID, type: 'organization', name: this.s.orgName };
      case 'GET users':
        return this.listUsers(q);
      case 'GET users/:id':
        return userJson(this.user(id!));
      case 'POST users/:id':
        return this.updateUser(id!, body);
      case 'DELETE users/:id':
        return this.removeUser(id!);
      case 'GET invites':
        return this.listInvites(q);
      case 'POST invites':
        return this.createInvite(body);
      case 'GET invites/:id':
        return this.inviteJson(this.invite(id!));
      case 'DELETE invites/:id':
        return this.deleteInvite(id!);
      case 'GET workspaces':
        return this.listWorkspaces(q);
      case 'POST workspaces':
        return this.createWorkspace(body);
      case 'GET workspaces/:id':
        return workspaceJson(this.workspace(id!));
      case 'POST workspaces/:id':
        return this.updateWorkspace(id!, body);
      case 'POST workspaces/:id/archive':
        return this.archiveWorkspace(id!);
      case 'GET workspaces/:id/members':
        return this.listMembers(id!, q);
      case 'POST workspaces/:id/members':
        return this.addMember(id!, body);
      case 'GET workspaces/:id/members/:sub':
        return memberJson(this.member(id!, subId!));
      case 'POST workspaces/:id/members/:sub':
        return this.updateMember(id!, subId!, body);
      case 'DELETE workspaces/:id/members/:sub':
        return this.removeMember(id!, subId!);
      case 'GET api_keys':
        return this.listKeys(q);
      case 'GET api_keys/:id':
        return this.keyJson(this.key(id!));
      case 'POST api_keys/:id':
        return this.updateKey(id!, body);
      case 'GET usage_report/:id':
        if (id === 'messages') return usageReport(this.s, q);
        if (id === 'claude_code') return claudeCodeReport(this.s, q);
        break;
      case 'GET cost_report':
        return costReport(this.s, q);
      case 'GET rate_limits':
        return listOrgRateLimits(this.s, q);
      case 'GET workspaces/:id/rate_limits':
        return listWorkspaceRateLimits(this.s, this.workspace(id!), q);
    }
    throw new HttpError(404, `Not found: ${method} ${path}`);
  }

  // ---- users
  private user(id: string): SimUser {
    const u = this.s.users.find((x) => x.id === id);
    if (!u) throw new HttpError(404, `User \`${id}\` not found.`);
    return u;
  }

  private listUsers(q: Query) {
    const email = q.get('email');
    const roles = arrayParam(q, 'roles');
    const users = this.s.users.filter(
      (u) =>
        (email === null || u.email.toLowerCase() === email.toLowerCase()) &&
        (roles.length === 0 || roles.includes(u.role)),
    );
    return paginate(
      users,
      (u) => u.id,
      q,
      seqIndex(this.s.users, (u) => u.id),
      userJson,
    );
  }

  private updateUser(id: string, body: Body) {
    const u = this.user(id);
    const role = body.role;
    if (typeof role !== 'string') throw new HttpError(400, 'role: Field required');
    if (role === 'admin')
      throw new HttpError(400, 'role: Cannot be admin. Admins can only be assigned in the Console.');
    if (!ORG_ROLES.includes(role)) throw new HttpError(400, `role: Input should be ${ORG_ROLES.join(', ')}`);
    if (u.role === 'admin') throw new HttpError(403, 'The role of an admin cannot be changed through the Admin API.');
    u.role = role;
    return userJson(u);
  }

  private removeUser(id: string) {
    const u = this.user(id);
    if (u.role === 'admin') throw new HttpError(403, 'Admins cannot be removed through the Admin API.');
    this.s.users = this.s.users.filter((x) => x.id !== id);
    this.s.members = this.s.members.filter((m) => m.user_id !== id);
    return { id, type: 'user_deleted' };
  }

  // ---- invites
  private invite(id: string): SimInvite {
    const i = this.s.invites.find((x) => x.id === id);
    if (!i) throw new HttpError(404, `Invite \`${id}\` not found.`);
    return i;
  }

  private inviteJson(i: SimInvite) {
    return {
      id: i.id,
      type: 'invite',
      email: i.email,
      role: i.role,
      status: this.s.inviteStatus(i),
      invited_at: i.invited_at,
      expires_at: i.expires_at,
    };
  }

  private listInvites(q: Query) {
    const statuses = arrayParam(q, 'statuses');
    const email = q.get('email');
    const invites = this.s.invites.filter(
      (i) =>
        (statuses.length === 0 || statuses.includes(this.s.inviteStatus(i))) &&
        (email === null || i.email.toLowerCase() === email.toLowerCase()),
    );
    return paginate(
      invites,
      (i) => i.id,
      q,
      seqIndex(this.s.invites, (i) => i.id),
      (i) => this.inviteJson(i),
    );
  }

  private createInvite(body: Body) {
    const { email, role } = body;
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      throw new HttpError(400, 'email: value is not a valid email address');
    }
    if (typeof role !== 'string') throw new HttpError(400, 'role: Field required');
    if (role === 'admin') throw new HttpError(400, 'role: Cannot be admin. Admins can only be invited in the Console.');
    if (!ORG_ROLES.includes(role)) throw new HttpError(400, `role: Input should be ${ORG_ROLES.join(', ')}`);
    if (this.s.userByEmail(email)) throw new HttpError(400, `${email} is already a member of this organization.`);
    const pending = this.s.invites.find(
      (i) => i.email.toLowerCase() === email.toLowerCase() && this.s.inviteStatus(i) === 'pending',
    );
    if (pending) throw new HttpError(409, `A pending invite for ${email} already exists.`);
    return this.inviteJson(this.s.addInvite({ email, role }));
  }

  private deleteInvite(id: string) {
    const i = this.invite(id);
    if (this.s.inviteStatus(i) !== 'pending') throw new HttpError(400, 'Only pending invites can be deleted.');
    this.s.invites = this.s.invites.filter((x) => x.id !== id);
    return { id, type: 'invite_deleted' };
  }

  // ---- workspaces
  private workspace(id: string): SimWorkspace {
    const w = this.s.workspaces.find((x) => x.id === id);
    if (!w) throw new HttpError(404, `Workspace \`${id}\` not found.`);
    return w;
  }

  private listWorkspaces(q: Query) {
    const includeArchived = q.get('include_archived') === 'true';
    const includeDefault = q.get('include_default') === 'true';
    const ws = this.s.workspaces.filter(
      (w) => (includeArchived || w.archived_at === null) && (includeDefault || !w.is_default),
    );
    return paginate(
      ws,
      (w) => w.id,
      q,
      seqIndex(this.s.workspaces, (w) => w.id),
      workspaceJson,
    );
  }

  private validName(name: unknown): string {
    if (typeof name !== 'string' || name.trim() === '') throw new HttpError(400, 'name: Field required');
    if (name.length > 40) throw new HttpError(400, 'name: String should have at most 40 characters');
    return name;
  }

  private createWorkspace(body: Body) {
    const name = this.validName(body.name);
    const active = this.s.workspaces.filter((w) => !w.is_default && w.archived_at === null).length;
    if (active >= this.s.maxActiveWorkspaces) {
      throw new HttpError(
        400,
        `Organization has reached the maximum of ${this.s.maxActiveWorkspaces} active workspaces. Archive a workspace first.`,
      );
    }
    const color = typeof body.display_color === 'string' ? body.display_color : undefined;
    return workspaceJson(this.s.addWorkspace({ name, displayColor: color }));
  }

  private updateWorkspace(id: string, body: Body) {
    const w = this.workspace(id);
    if (w.is_default) throw new HttpError(400, 'The Default workspace cannot be modified.');
    if (w.archived_at) throw new HttpError(400, 'Archived workspaces cannot be modified.');
    if (body.name !== undefined) w.name = this.validName(body.name);
    if (typeof body.display_color === 'string') w.display_color = body.display_color;
    return workspaceJson(w);
  }

  private archiveWorkspace(id: string) {
    const w = this.workspace(id);
    if (w.is_default) throw new HttpError(400, 'The Default workspace cannot be archived.');
    // Archiving twice returns the archived workspace rather than failing, so a retried archive is harmless.
    if (!w.archived_at) {
      w.archived_at = this.s.now().toISOString();
      for (const k of this.s.apiKeys) if (k.scope_workspace_id === id) k.status = 'archived';
    }
    return workspaceJson(w);
  }

  // ---- workspace members
  private activeWorkspace(id: string): SimWorkspace {
    const w = this.workspace(id);
    if (w.archived_at) throw new HttpError(400, `Workspace \`${id}\` is archived.`);
    return w;
  }

  private member(workspaceId: string, userId: string): SimMember {
    this.workspace(workspaceId);
    const m = this.s.membersOf(workspaceId).find((x) => x.user_id === userId);
    if (!m) throw new HttpError(404, `User \`${userId}\` is not a member of workspace \`${workspaceId}\`.`);
    return m;
  }

  private listMembers(workspaceId: string, q: Query) {
    this.workspace(workspaceId);
    const members = this.s.membersOf(workspaceId);
    return paginate(
      members,
      (m) => m.user_id,
      q,
      seqIndex(this.s.users, (u) => u.id),
      memberJson,
    );
  }

  private role(value: unknown, field = 'workspace_role'): string {
    if (typeof value !== 'string') throw new HttpError(400, `${field}: Field required`);
    if (value === 'workspace_billing') throw new HttpError(400, `${field}: Cannot be workspace_billing.`);
    if (!WORKSPACE_ROLES.includes(value)) {
      throw new HttpError(400, `${field}: Input should be ${WORKSPACE_ROLES.join(', ')}`);
    }
    return value;
  }

  private addMember(workspaceId: string, body: Body) {
    this.activeWorkspace(workspaceId);
    const role = this.role(body.workspace_role);
    if (typeof body.user_id !== 'string') throw new HttpError(400, 'user_id: Field required');
    const u = this.user(body.user_id);
    if (u.role === 'admin' || u.role === 'billing') {
      if (!(u.role === 'billing' && role === 'workspace_admin')) {
        throw new HttpError(
          400,
          `User \`${u.id}\` is an organization ${u.role} and inherits their workspace role; it cannot be changed.`,
        );
      }
    }
    if (this.s.members.some((m) => m.workspace_id === workspaceId && m.user_id === u.id)) {
      throw new HttpError(409, `User \`${u.id}\` is already a member of workspace \`${workspaceId}\`.`);
    }
    return memberJson(this.s.addMember(workspaceId, u.id, role));
  }

  private updateMember(workspaceId: string, userId: string, body: Body) {
    this.activeWorkspace(workspaceId);
    const role = this.role(body.workspace_role);
    this.member(workspaceId, userId);
    const u = this.user(userId);
    if ((u.role === 'admin' || u.role === 'billing') && !(u.role === 'billing' && role === 'workspace_admin')) {
      throw new HttpError(400, `The workspace role of an organization ${u.role} cannot be changed.`);
    }
    return memberJson(this.s.addMember(workspaceId, userId, role));
  }

  private removeMember(workspaceId: string, userId: string) {
    this.activeWorkspace(workspaceId);
    this.member(workspaceId, userId);
    const u = this.user(userId);
    if (u.role === 'admin' || u.role === 'billing') {
      throw new HttpError(400, `An organization ${u.role} cannot be removed from a workspace.`);
    }
    this.s.members = this.s.members.filter((m) => !(m.workspace_id === workspaceId && m.user_id === userId));
    return { type: 'workspace_member_deleted', user_id: userId, workspace_id: workspaceId };
  }

  // ---- api keys
  private key(id: string): SimApiKey {
    const k = this.s.apiKeys.find((x) => x.id === id);
    if (!k) throw new HttpError(404, `API key \`${id}\` not found.`);
    return k;
  }

  private keyJson(k: SimApiKey) {
    const defaultId = this.s.defaultWorkspace?.id;
    const orgScoped = k.scope_workspace_id === null;
    return {
      id: k.id,
      type: 'api_key',
      name: k.name,
      status: this.s.keyStatus(k),
      partial_key_hint: k.partial_key_hint,
      // Deprecated field: null for Default-bound and organization-scoped keys, as documented.
      workspace_id: orgScoped || k.scope_workspace_id === defaultId ? null : k.scope_workspace_id,
      scope: orgScoped ? { type: 'organization' } : { type: 'workspace', workspace_id: k.scope_workspace_id },
      principal: orgScoped && k.created_by?.type === 'user' ? { type: 'user_actor', user_id: k.created_by.id } : null,
      created_at: k.created_at,
      created_by: k.created_by,
      expires_at: k.expires_at,
    };
  }

  private listKeys(q: Query) {
    const status = q.get('status');
    if (status !== null && !KEY_STATUSES.includes(status)) {
      throw new HttpError(400, `status: Input should be ${KEY_STATUSES.join(', ')}`);
    }
    const workspaceId = q.get('workspace_id');
    const createdBy = q.get('created_by_user_id');
    const keys = this.s.apiKeys.filter(
      (k) =>
        (status === null || this.s.keyStatus(k) === status) &&
        (workspaceId === null || k.scope_workspace_id === workspaceId) &&
        (createdBy === null || (k.created_by?.type === 'user' && k.created_by.id === createdBy)),
    );
    return paginate(
      keys,
      (k) => k.id,
      q,
      seqIndex(this.s.apiKeys, (k) => k.id),
      (k) => this.keyJson(k),
    );
  }

  private updateKey(id: string, body: Body) {
    const k = this.key(id);
    const { name, status } = body;
    if (this.s.keyStatus(k) === 'expired') throw new HttpError(400, 'Expired API keys cannot be updated.');
    if (status !== undefined && status !== null) {
      if (status === 'expired') throw new HttpError(400, 'status: Cannot set status to expired.');
      if (typeof status !== 'string' || !['active', 'inactive', 'archived'].includes(status)) {
        throw new HttpError(400, 'status: Input should be active, inactive or archived');
      }
      if (k.status === 'archived' && status !== 'archived') {
        throw new HttpError(400, 'Archived API keys cannot be reactivated.');
      }
    }
    if (name !== undefined && name !== null) {
      if (typeof name !== 'string' || name.trim() === '' || name.length > 500) {
        throw new HttpError(400, 'name: String should have between 1 and 500 characters');
      }
      k.name = name;
    }
    if (typeof status === 'string') k.status = status as SimApiKey['status'];
    return this.keyJson(k);
  }
}

/** Position of an id in creation order; the index is built once per request (O(n), not O(n) per lookup). */
function seqIndex<T>(all: T[], idOf: (t: T) => string): (id: string) => number | undefined {
  let index: Map<string, number> | null = null;
  return (id) => {
    if (!index) {
      index = new Map();
      for (let i = 0; i < all.length; i++) {
        const key = idOf(all[i]!);
        if (!index.has(key)) index.set(key, i);
      }
    }
    return index.get(id);
  };
}

/** Id-cursor paging over `items` (already filtered, in creation order); cursors are positioned via `position`. */
function paginate<T, U>(
  items: T[],
  idOf: (t: T) => string,
  q: Query,
  position: (id: string) => number | undefined,
  toJson: (t: T) => U,
) {
  const limit = q.has('limit') ? Number(q.get('limit')) : 20;
  const afterId = q.get('after_id');
  const beforeId = q.get('before_id');
  const pos = (cursor: string, name: string) => {
    const p = position(cursor);
    if (p === undefined) throw new HttpError(400, `${name}: unknown id \`${cursor}\``);
    return p;
  };
  const withPos = items.map((t) => ({ t, p: position(idOf(t)) ?? -1 }));
  let window: typeof withPos;
  let hasMore: boolean;
  if (afterId) {
    const a = pos(afterId, 'after_id');
    const rest = withPos.filter((x) => x.p > a);
    window = rest.slice(0, limit);
    hasMore = rest.length > limit;
  } else if (beforeId) {
    const b = pos(beforeId, 'before_id');
    const rest = withPos.filter((x) => x.p < b);
    window = rest.slice(Math.max(0, rest.length - limit));
    hasMore = rest.length > limit;
  } else {
    window = withPos.slice(0, limit);
    hasMore = withPos.length > limit;
  }
  const data = window.map((x) => x.t);
  return {
    data: data.map(toJson),
    first_id: data.length ? idOf(data[0]!) : null,
    last_id: data.length ? idOf(data[data.length - 1]!) : null,
    has_more: hasMore,
  };
}

function userJson(u: SimUser) {
  return { id: u.id, type: 'user', email: u.email, name: u.name, role: u.role, added_at: u.added_at };
}

function workspaceJson(w: SimWorkspace) {
  return {
    id: w.id,
    type: 'workspace',
    name: w.name,
    created_at: w.created_at,
    archived_at: w.archived_at,
    display_color: w.display_color,
    data_residency: { workspace_geo: 'us', allowed_inference_geos: 'unrestricted', default_inference_geo: 'global' },
    tags: {},
    external_key_id: null,
  };
}

function memberJson(m: SimMember) {
  return {
    type: 'workspace_member',
    user_id: m.user_id,
    workspace_id: m.workspace_id,
    workspace_role: m.workspace_role,
  };
}
