import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, RateLimitError } from '@anthropic-ai/sdk';
import {
  type AdminApi,
  AdminApiError,
  type AdminApiErrorKind,
  type ApiKey,
  type Invite,
  type Organization,
  type OrgUser,
  type Workspace,
  type WorkspaceMember,
} from '../core/ports/admin-api.js';

export interface AdminApiRequestInfo {
  method: string;
  /** URL path without the query string (queries can carry e-mail addresses). */
  path: string;
  /** null when no HTTP answer arrived (timeout, connection failure). */
  status: number | null;
  /** 1-based attempt number within the current call (retries included). */
  attempt: number;
  durationMs: number;
}

export interface AdminApiClientOptions {
  adminKey: string;
  /** Defaults to ANTHROPIC_BASE_URL, then https://api.anthropic.com (the SDK's own resolution). */
  baseURL?: string;
  /** Retries after the first attempt for retry-safe requests (default 2, the SDK's default). */
  maxRetries?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  onRequest?: (info: AdminApiRequestInfo) => void;
  /** Items requested per page when listing (default 1000, the API's maximum); lists are always read to the end. */
  pageSize?: number;
}

interface CallContext {
  /** Attempts since the last successful HTTP response: the count that belongs to the failure being reported. */
  attempts: number;
}

type Json = Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest `limit` the ID-cursor list endpoints accept: the fewest requests for a full listing. */
const MAX_PAGE_SIZE = 1000;
/** Cap on an honoured retry-after for creates, so a misbehaving server cannot park a chat command for hours. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The SDK client with the attempt counting, metrics hook, secret redaction and error classification every Admin
 * API call shares (the directory endpoints here, the report endpoints in ./reports.ts).
 */
export interface AdminTransport {
  client: Anthropic;
  maxRetries: number;
  /**
   * Runs one API call (SDK retries included) and turns any failure into an AdminApiError. `fn` makes its requests
   * with the client it is given, which counts the call's attempts.
   */
  call<T>(fn: (client: Anthropic) => Promise<T>): Promise<T>;
  /** A non-idempotent create: SDK retries off, only a 429 is retried (see below). */
  create<T>(fn: (client: Anthropic) => Promise<T>): Promise<T>;
}

export function createAdminTransport(opts: AdminApiClientOptions): AdminTransport {
  const maxRetries = opts.maxRetries ?? 2;
  const baseFetch = opts.fetch ?? globalThis.fetch;
  // Every attempt the SDK makes (including its own retries) goes through a call's own fetch, which is how each
  // AdminApiError knows its attempt count without the SDK exposing one. Each call gets a copy of the client with
  // that fetch (withOptions), rather than finding its count through an AsyncLocalStorage: one of those, once used,
  // has Node 20 run a hook on every promise of the process from then on (about 10 % of the allocation of a
  // command under load, Admin API calls or not).
  const countingFetch =
    (ctx: CallContext | null) =>
    async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (ctx) ctx.attempts++;
      const attempt = ctx?.attempts ?? 1;
      const started = performance.now();
      const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      const path = pathOf(input);
      const report = (status: number | null) => {
        try {
          opts.onRequest?.({ method, path, status, attempt, durationMs: Math.round(performance.now() - started) });
        } catch {
          // An observer must never turn a good API call into a failure.
        }
      };
      try {
        const res = await baseFetch(input, init);
        report(res.status);
        if (ctx && res.ok) ctx.attempts = 0;
        return res;
      } catch (e) {
        report(null);
        throw e;
      }
    };

  const client = new Anthropic({
    apiKey: opts.adminKey,
    // Passing undefined lets the SDK fall back to ANTHROPIC_BASE_URL itself.
    baseURL: opts.baseURL,
    maxRetries,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    fetch: countingFetch(null) as typeof fetch,
    // The SDK's debug logs include request details; keep them off regardless of ANTHROPIC_LOG.
    logLevel: 'off',
    // The pinned SDK sends the key as `Authorization: Bearer`; the Admin API documentation (and every curl
    // example) uses `x-api-key`. Send both so any faithful implementation of the API accepts the request.
    defaultHeaders: { 'x-api-key': opts.adminKey },
  });

  const redact = (text: string) => (opts.adminKey ? text.split(opts.adminKey).join('[redacted]') : text);

  async function call<T>(fn: (client: Anthropic) => Promise<T>): Promise<T> {
    const ctx: CallContext = { attempts: 0 };
    try {
      return await fn(client.withOptions({ fetch: countingFetch(ctx) as typeof fetch }));
    } catch (e) {
      throw toAdminApiError(e, Math.max(ctx.attempts, 1), redact);
    }
  }

  /**
   * Creates (invite, workspace) are not idempotent and the API takes no idempotency key: if a 500 or a timeout
   * hides a request that actually succeeded, retrying would send a second invite e-mail or make a duplicate
   * workspace. So they run with SDK retries off, and only a 429 is retried here: a rate-limited request was refused
   * before doing anything, so sending it again is safe.
   */
  async function create<T>(fn: (client: Anthropic) => Promise<T>): Promise<T> {
    return call(async (c) => {
      for (let retry = 0; ; retry++) {
        try {
          return await fn(c);
        } catch (e) {
          const retryable =
            e instanceof RateLimitError && retry < maxRetries && e.headers?.get('x-should-retry') !== 'false';
          if (!retryable) throw e;
          await sleep(retryDelayMs(e.headers, retry));
        }
      }
    });
  }

  return { client, maxRetries, call, create };
}

export function createAdminApiClient(opts: AdminApiClientOptions): AdminApi {
  const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
  const { call, create } = createAdminTransport(opts);
  const org = (c: Anthropic) => c.beta.organization;
  const noRetry = { maxRetries: 0 };

  async function all<T>(items: AsyncIterable<unknown>, map: (raw: Json) => T): Promise<T[]> {
    const out: T[] = [];
    for await (const item of items) out.push(map(item as Json));
    return out;
  }

  return {
    getOrganization: () => call(async (c) => mapOrganization((await org(c).retrieve()) as unknown as Json)),

    listUsers: (filter) =>
      call((c) =>
        all(org(c).users.list({ limit: pageSize, ...(filter?.email ? { email: filter.email } : {}) }), mapUser),
      ),
    getUser: (userId) => call(async (c) => mapUser((await org(c).users.retrieve(userId)) as unknown as Json)),
    updateUserRole: (userId, role) =>
      call(async (c) => mapUser((await org(c).users.update(userId, { role } as never)) as unknown as Json)),
    removeUser: (userId) =>
      call(async (c) => {
        await org(c).users.remove(userId);
      }),

    listInvites: () => call((c) => all(org(c).invites.list({ limit: pageSize }), mapInvite)),
    createInvite: (input) =>
      create(async (c) =>
        mapInvite(
          (await org(c).invites.create({ email: input.email, role: input.role } as never, noRetry)) as unknown as Json,
        ),
      ),
    deleteInvite: (inviteId) =>
      call(async (c) => {
        await org(c).invites.delete(inviteId);
      }),

    listWorkspaces: (filter) =>
      call((c) =>
        all(
          org(c).workspaces.list({ limit: pageSize, ...(filter?.includeArchived ? { include_archived: true } : {}) }),
          mapWorkspace,
        ),
      ),
    getWorkspace: (workspaceId) =>
      call(async (c) => mapWorkspace((await org(c).workspaces.retrieve(workspaceId)) as unknown as Json)),
    createWorkspace: (input) =>
      create(async (c) =>
        mapWorkspace((await org(c).workspaces.create({ name: input.name }, noRetry)) as unknown as Json),
      ),
    // Archiving an archived workspace is a no-op, so the SDK's retries are safe here.
    archiveWorkspace: (workspaceId) =>
      call(async (c) => mapWorkspace((await org(c).workspaces.archive(workspaceId)) as unknown as Json)),

    listWorkspaceMembers: (workspaceId) =>
      call((c) => all(org(c).workspaces.members.list(workspaceId, { limit: pageSize }), mapMember)),
    // A repeated add is refused (409 "already a member") rather than duplicated, so retrying cannot double it.
    addWorkspaceMember: (workspaceId, userId, workspaceRole) =>
      call(async (c) =>
        mapMember(
          (await org(c).workspaces.members.add(workspaceId, {
            user_id: userId,
            workspace_role: workspaceRole,
          } as never)) as unknown as Json,
        ),
      ),
    updateWorkspaceMember: (workspaceId, userId, workspaceRole) =>
      call(async (c) =>
        mapMember(
          (await org(c).workspaces.members.update(userId, {
            workspace_id: workspaceId,
            workspace_role: workspaceRole,
          } as never)) as unknown as Json,
        ),
      ),
    removeWorkspaceMember: (workspaceId, userId) =>
      call(async (c) => {
        await org(c).workspaces.members.remove(userId, { workspace_id: workspaceId });
      }),

    listApiKeys: (filter) =>
      call((c) =>
        all(
          org(c).apiKeys.list({
            limit: pageSize,
            ...(filter?.status ? { status: filter.status } : {}),
            ...(filter?.workspaceId ? { workspace_id: filter.workspaceId } : {}),
            ...(filter?.createdByUserId ? { created_by_user_id: filter.createdByUserId } : {}),
          }),
          mapApiKey,
        ),
      ),
    getApiKey: (keyId) => call(async (c) => mapApiKey((await org(c).apiKeys.retrieve(keyId)) as unknown as Json)),
    updateApiKey: (keyId, input) =>
      call(async (c) => {
        const body: Json = {};
        if (input.name !== undefined) body.name = input.name;
        if (input.status !== undefined) body.status = input.status;
        return mapApiKey((await org(c).apiKeys.update(keyId, body)) as unknown as Json);
      }),
  };
}

function pathOf(input: string | URL | Request): string {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(raw).pathname;
  } catch {
    return raw.split('?')[0] ?? raw;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Same precedence as the SDK: retry-after-ms, then retry-after (seconds or HTTP date), else exponential backoff. */
function retryDelayMs(headers: Headers | undefined, retry: number): number {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const after = headers?.get('retry-after');
  if (after) {
    const seconds = Number.parseFloat(after);
    const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - Date.now();
    if (Number.isFinite(wait) && wait > 0) return Math.min(wait, MAX_RETRY_AFTER_MS);
  }
  return Math.min(500 * 2 ** retry, 8000) * (1 - Math.random() * 0.25);
}

function kindForStatus(status: number): AdminApiErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'unavailable';
  return 'invalid';
}

function toAdminApiError(e: unknown, attempts: number, redact: (s: string) => string): AdminApiError {
  if (e instanceof AdminApiError) return e;
  // Order matters: the timeout error is a subclass of the connection error.
  if (e instanceof APIConnectionTimeoutError) {
    return new AdminApiError({ kind: 'timeout', status: null, apiMessage: 'Request timed out.', attempts });
  }
  if (e instanceof APIConnectionError) {
    return new AdminApiError({
      kind: 'network',
      status: null,
      apiMessage: redact(connectionDetail(e)),
      attempts,
    });
  }
  if (e instanceof APIError && typeof e.status === 'number') {
    const body = e.error as { error?: { message?: unknown } } | undefined;
    const message = typeof body?.error?.message === 'string' ? body.error.message : null;
    return new AdminApiError({
      kind: kindForStatus(e.status),
      status: e.status,
      apiMessage: redact(message ?? `HTTP ${e.status}`),
      requestId: e.requestID ?? null,
      attempts,
    });
  }
  // Anything else (SDK misconfiguration, an unparseable body) is reported without its original text, which
  // might quote request details.
  const name = e instanceof Error ? e.name : 'Error';
  return new AdminApiError({
    kind: 'network',
    status: null,
    apiMessage: `Unexpected client failure (${name}).`,
    attempts,
  });
}

function connectionDetail(e: APIConnectionError): string {
  const cause = (e as { cause?: unknown }).cause as { cause?: { code?: unknown }; code?: unknown } | undefined;
  const code = cause?.cause?.code ?? cause?.code;
  return typeof code === 'string' ? `Connection error (${code}).` : 'Connection error.';
}

// ---- mapping API objects (snake_case, possibly with unknown fields or values) to the port's types

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

function mapOrganization(o: Json): Organization {
  return { id: str(o.id) ?? '', name: str(o.name) ?? '' };
}

function mapUser(u: Json): OrgUser {
  return {
    id: str(u.id) ?? '',
    email: str(u.email) ?? '',
    name: str(u.name) ?? '',
    role: str(u.role) ?? 'unknown',
    addedAt: str(u.added_at),
  };
}

function mapInvite(i: Json): Invite {
  return {
    id: str(i.id) ?? '',
    email: str(i.email) ?? '',
    role: str(i.role) ?? 'unknown',
    status: str(i.status) ?? 'unknown',
    invitedAt: str(i.invited_at),
    expiresAt: str(i.expires_at),
  };
}

function mapWorkspace(w: Json): Workspace {
  return {
    id: str(w.id) ?? '',
    name: str(w.name) ?? '',
    createdAt: str(w.created_at),
    archivedAt: str(w.archived_at),
    displayColor: str(w.display_color),
  };
}

function mapMember(m: Json): WorkspaceMember {
  return {
    userId: str(m.user_id) ?? '',
    workspaceId: str(m.workspace_id) ?? '',
    workspaceRole: str(m.workspace_role) ?? 'unknown',
  };
}

function mapApiKey(k: Json): ApiKey {
  // The deprecated top-level workspace_id, when sent at all, is authoritative (null for Default-bound and
  // org-scoped keys); payloads that dropped it only carry scope.workspace_id.
  const scope = obj(k.scope);
  const workspaceId =
    'workspace_id' in k ? str(k.workspace_id) : scope?.type === 'workspace' ? str(scope.workspace_id) : null;
  const createdBy = obj(k.created_by);
  return {
    id: str(k.id) ?? '',
    name: str(k.name) ?? '',
    status: str(k.status) ?? 'unknown',
    partialKeyHint: str(k.partial_key_hint),
    workspaceId,
    createdAt: str(k.created_at),
    createdBy:
      createdBy && str(createdBy.id) ? { id: str(createdBy.id)!, type: str(createdBy.type) ?? 'unknown' } : null,
    expiresAt: str(k.expires_at),
  };
}
