/**
 * The reports client (src/anthropic/reports.ts) against a local HTTP fake that answers with hand-written report
 * pages: the exact query it sends (array parameters as `group_by[]`), fields the port does not know ignored, null
 * dimensions kept null, amounts exact, Claude Code records folded, and errors classified like every Admin API call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReportsApiClient } from '../../src/anthropic/reports.js';
import { AdminApiError } from '../../src/core/ports/admin-api.js';

const KEY = `sk-ant-admin01-${'r3P0'.repeat(23)}x_AA`;
let server: Server;
let url: string;
let seen: Array<{ path: string; search: string; headers: Record<string, unknown> }>;
let answer: (path: string) => { status: number; body: unknown; raw?: string; headers?: Record<string, string> };

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    seen.push({ path: u.pathname, search: u.search, headers: req.headers });
    const { status, body, raw, headers } = answer(u.pathname);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(raw ?? JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const client = (extra = {}) => createReportsApiClient({ adminKey: KEY, baseURL: url, maxRetries: 0, ...extra });

describe('usage report', () => {
  it('sends the documented query and maps buckets, tolerating unknown fields and null dimensions', async () => {
    answer = () => ({
      status: 200,
      body: {
        data: [
          {
            starting_at: '2026-11-01T00:00:00Z',
            ending_at: '2026-11-01T01:00:00Z',
            some_new_field: { nested: true },
            results: [
              {
                uncached_input_tokens: 1500,
                cache_read_input_tokens: 200,
                cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 1000 },
                output_tokens: 500,
                server_tool_use: { web_search_requests: 10 },
                model: 'claude-opus-4-6',
                workspace_id: null,
                api_key_id: null,
                service_tier: 'standard',
                context_window: '0-200k',
                inference_geo: 'global',
                brand_new_dimension: 'x',
              },
              // Fields missing altogether read as zero / null; a negative count is not a count (zero); integer text is.
              { output_tokens: 7, uncached_input_tokens: -40, cache_read_input_tokens: '12' },
            ],
          },
        ],
        has_more: true,
        next_page: 'page_abc',
      },
    });
    const page = await client().usageReportPage({
      startingAt: new Date('2026-11-01T00:00:00Z'),
      endingAt: new Date('2026-11-08T00:00:00Z'),
      bucketWidth: '1h',
      limit: 168,
      groupBy: ['api_key_id', 'workspace_id'],
      page: 'page_prev',
    });
    const q = new URLSearchParams(seen[0]!.search);
    expect(seen[0]!.path).toBe('/v1/organizations/usage_report/messages');
    expect(q.getAll('group_by[]')).toEqual(['api_key_id', 'workspace_id']);
    expect(Object.fromEntries([...q].filter(([k]) => k !== 'group_by[]'))).toEqual({
      starting_at: '2026-11-01T00:00:00.000Z',
      ending_at: '2026-11-08T00:00:00.000Z',
      bucket_width: '1h',
      limit: '168',
      page: 'page_prev',
    });
    expect(seen[0]!.headers['x-api-key']).toBe(KEY);
    expect(page.nextPage).toBe('page_abc');
    expect(page.data).toEqual([
      {
        startingAt: new Date('2026-11-01T00:00:00Z'),
        endingAt: new Date('2026-11-01T01:00:00Z'),
        results: [
          {
            workspaceId: null,
            apiKeyId: null,
            model: 'claude-opus-4-6',
            serviceTier: 'standard',
            uncachedInput: 1500n,
            cacheRead: 200n,
            cacheWrite5m: 500n,
            cacheWrite1h: 1000n,
            output: 500n,
            webSearch: 10n,
          },
          {
            workspaceId: null,
            apiKeyId: null,
            model: null,
            serviceTier: null,
            uncachedInput: 0n,
            cacheRead: 12n,
            cacheWrite5m: 0n,
            cacheWrite1h: 0n,
            output: 7n,
            webSearch: 0n,
          },
        ],
      },
    ]);
  });

  it('the last page has no next page even if a token is sent along with has_more: false', async () => {
    answer = () => ({ status: 200, body: { data: [], has_more: false, next_page: 'page_stale' } });
    const page = await client().usageReportPage({
      startingAt: new Date('2026-11-01T00:00:00Z'),
      bucketWidth: '1h',
      limit: 1,
      groupBy: [],
    });
    expect(page).toEqual({ data: [], nextPage: null });
    expect(new URLSearchParams(seen[0]!.search).has('group_by[]')).toBe(false);
    expect(new URLSearchParams(seen[0]!.search).has('ending_at')).toBe(false);
  });
});

describe('cost report', () => {
  it('converts the decimal cent strings exactly and keeps the description dimensions', async () => {
    answer = () => ({
      status: 200,
      body: {
        data: [
          {
            starting_at: '2026-11-01T00:00:00Z',
            ending_at: '2026-11-02T00:00:00Z',
            results: [
              {
                amount: '123.78912',
                currency: 'USD',
                workspace_id: 'wrkspc_1',
                description: 'Claude Sonnet 4 Usage - Input Tokens',
                cost_type: 'tokens',
                model: 'claude-sonnet-4-20250514',
                service_tier: 'standard',
                context_window: '0-200k',
                token_type: 'uncached_input_tokens',
                inference_geo: 'global',
              },
              // 2^53 + 1 cents and a sub-cent fraction: no float could hold this.
              { amount: '9007199254740993.0000001', currency: 'USD', workspace_id: null, description: null },
            ],
          },
        ],
        has_more: false,
        next_page: null,
      },
    });
    const page = await client().costReportPage({
      startingAt: new Date('2026-11-01T00:00:00Z'),
      limit: 31,
      groupBy: ['workspace_id', 'description'],
    });
    expect(new URLSearchParams(seen[0]!.search).get('bucket_width')).toBe('1d');
    expect(page.data[0]!.results).toEqual([
      {
        nanos: 1_237_891_200n,
        workspaceId: 'wrkspc_1',
        description: 'Claude Sonnet 4 Usage - Input Tokens',
        costType: 'tokens',
        model: 'claude-sonnet-4-20250514',
        tokenType: 'uncached_input_tokens',
        serviceTier: 'standard',
      },
      {
        nanos: 90_071_992_547_409_930_000_001n,
        workspaceId: null,
        description: null,
        costType: null,
        model: null,
        tokenType: null,
        serviceTier: null,
      },
    ]);
  });

  it('a row whose amount is not a decimal fails the page instead of being stored wrong', async () => {
    answer = () => ({
      status: 200,
      body: {
        data: [
          { starting_at: '2026-11-01T00:00:00Z', ending_at: '2026-11-02T00:00:00Z', results: [{ amount: '1e3' }] },
        ],
        has_more: false,
      },
    });
    await expect(
      client().costReportPage({ startingAt: new Date('2026-11-01T00:00:00Z'), limit: 1, groupBy: [] }),
    ).rejects.toThrow(/not a decimal amount of cents/);
  });
});

describe('Claude Code report', () => {
  it('asks for one UTC day and folds tool actions and the model breakdown into one record', async () => {
    answer = () => ({
      status: 200,
      body: {
        data: [
          {
            date: '2026-11-03T00:00:00Z',
            organization_id: 'org_1',
            actor: { type: 'user_actor', email_address: 'ada@example.com' },
            terminal_type: 'vscode',
            customer_type: 'api',
            subscription_type: null,
            core_metrics: {
              num_sessions: 4,
              lines_of_code: { added: 120, removed: 30 },
              commits_by_claude_code: 2,
              pull_requests_by_claude_code: 1,
            },
            tool_actions: {
              edit_tool: { accepted: 10, rejected: 2 },
              write_tool: { accepted: 3, rejected: 1 },
              future_tool: { accepted: 1, rejected: 0 },
            },
            model_breakdown: [
              {
                model: 'claude-sonnet-4-5',
                tokens: { input: 100, output: 50, cache_read: 1000, cache_creation: 20 },
                estimated_cost: { amount: 12.3456789, currency: 'USD' },
              },
              {
                model: 'claude-haiku-4-5',
                tokens: { input: 1, output: 2, cache_read: 3, cache_creation: 4 },
                estimated_cost: { amount: 1e-7, currency: 'USD' },
              },
            ],
          },
          {
            date: '2026-11-03',
            actor: { type: 'api_actor', api_key_name: 'ci-bot' },
            terminal_type: 'non-interactive',
          },
        ],
        has_more: true,
        next_page: 'page_2',
      },
    });
    const page = await client().claudeCodePage({ day: new Date('2026-11-03T00:00:00Z'), limit: 1000 });
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.search))).toEqual({
      starting_at: '2026-11-03',
      limit: '1000',
    });
    expect(page.nextPage).toBe('page_2');
    expect(page.data).toEqual([
      {
        day: new Date('2026-11-03T00:00:00Z'),
        actorType: 'user',
        actor: 'ada@example.com',
        terminalType: 'vscode',
        customerType: 'api',
        sessions: 4,
        linesAdded: 120,
        linesRemoved: 30,
        commits: 2,
        pullRequests: 1,
        toolAccepted: 14,
        toolRejected: 3,
        inputTokens: 101n,
        outputTokens: 52n,
        cacheRead: 1003n,
        cacheCreation: 24n,
        // 12.3456789 cents + 0.0000001 cents, exactly.
        costNanos: 123_456_790n,
      },
      {
        day: new Date('2026-11-03T00:00:00Z'),
        actorType: 'api_key',
        actor: 'ci-bot',
        terminalType: 'non-interactive',
        customerType: '',
        sessions: 0,
        linesAdded: 0,
        linesRemoved: 0,
        commits: 0,
        pullRequests: 0,
        toolAccepted: 0,
        toolRejected: 0,
        inputTokens: 0n,
        outputTokens: 0n,
        cacheRead: 0n,
        cacheCreation: 0n,
        costNanos: 0n,
      },
    ]);
  });
});

describe('errors and metrics', () => {
  it('a refusal is an AdminApiError with the API message, the key redacted, and every attempt reported', async () => {
    answer = () => ({
      status: 400,
      body: { type: 'error', error: { type: 'invalid_request_error', message: `bad limit for ${KEY}` } },
    });
    const attempts: unknown[] = [];
    const err = await client({ onRequest: (i: unknown) => attempts.push(i) })
      .claudeCodePage({ day: new Date('2026-11-03T00:00:00Z'), limit: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect((err as AdminApiError).kind).toBe('invalid');
    expect((err as AdminApiError).apiMessage).toBe('bad limit for [redacted]');
    expect(attempts).toEqual([
      expect.objectContaining({ method: 'GET', path: '/v1/organizations/usage_report/claude_code', status: 400 }),
    ]);
  });
});

describe('large and broken pages', () => {
  /** A usage page of `buckets` hourly buckets whose results carry a large field the client does not know. */
  function bigUsagePage(buckets: number, resultsPerBucket: number) {
    const start = Date.UTC(2026, 10, 1);
    return {
      data: Array.from({ length: buckets }, (_, b) => ({
        starting_at: new Date(start + b * 3_600_000).toISOString(),
        ending_at: new Date(start + (b + 1) * 3_600_000).toISOString(),
        results: Array.from({ length: resultsPerBucket }, (_, i) => ({
          uncached_input_tokens: 1000 + i,
          output_tokens: b,
          api_key_id: `apikey_${b}_${i}`,
          workspace_id: null,
          model: 'claude-opus-4-6',
          service_tier: 'standard',
          // 2 KB the client ignores, with characters that need escaping, so the page is MB with few results.
          unknown_detail: `{"nested": "[quoted]"} \\ `.repeat(80),
        })),
      })),
      has_more: true,
      next_page: 'page_next',
    };
  }

  const query = {
    startingAt: new Date('2026-11-01T00:00:00Z'),
    bucketWidth: '1h' as const,
    limit: 168,
    groupBy: [] as string[],
  };

  it('a page of several MB is read and parsed over many turns of the event loop, and maps as before', async () => {
    const text = JSON.stringify(bigUsagePage(168, 12));
    expect(text.length).toBeGreaterThan(4_000_000);
    // The whole body is there at once (no network turns), so the turns counted are the client's own.
    const fetch = async () => new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const page = await client({ fetch }).usageReportPage(query);
    done = true;
    expect(page.data).toHaveLength(168);
    expect(page.data[167]!.results).toHaveLength(12);
    expect(page.data[5]!.results[3]).toMatchObject({ apiKeyId: 'apikey_5_3', uncachedInput: 1003n, output: 5n });
    expect(page.nextPage).toBe('page_next');
    // One JSON.parse of the body would give the loop no turn until the mapping (2,016 results: 2 turns); the sliced
    // parse gives it one every 256 KiB of work at the latest.
    expect(turns).toBeGreaterThan(text.length / (512 * 1024));
  });

  it('a body that is not valid JSON fails the page as an unexpected client failure, not an empty page', async () => {
    const broken = JSON.stringify(bigUsagePage(3, 2)).slice(0, -40);
    answer = () => ({ status: 200, body: null, raw: broken });
    const err = await client()
      .usageReportPage(query)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect((err as AdminApiError).kind).toBe('network');
    expect((err as AdminApiError).apiMessage).toBe('Unexpected client failure (SyntaxError).');
  });

  it('a 5xx is still retried by the SDK (honouring retry-after) before the raw body is read', async () => {
    let n = 0;
    answer = () =>
      n++ === 0
        ? {
            status: 503,
            body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } },
            headers: { 'retry-after-ms': '10' },
          }
        : { status: 200, body: { data: [], has_more: false, next_page: null } };
    const attempts: Array<{ status: number | null }> = [];
    const page = await client({
      maxRetries: 2,
      onRequest: (i: { status: number | null }) => attempts.push(i),
    }).costReportPage({
      startingAt: new Date('2026-11-01T00:00:00Z'),
      limit: 31,
      groupBy: [],
    });
    expect(page).toEqual({ data: [], nextPage: null });
    expect(attempts.map((a) => a.status)).toEqual([503, 200]);
  });
});
