/**
 * `GET /metrics` in the Prometheus text format, from prom-client on a registry of its own (never the global
 * one): the default Node.js process metrics, counters and latency histograms for chat commands, button clicks
 * and Anthropic Admin API requests, and approval requests by status, counted by the database with one grouped
 * query per scrape. The core does not know about any of this: it reports through the Dispatcher's `observe`
 * hook and the Admin API client's `onRequest` hook, which main.ts points here.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../core/ports/store.js';

/** What the Dispatcher reports after every finished command or click. */
export interface CommandObservation {
  kind: 'command' | 'button';
  platform: string;
  /** The command path (`keys list`) or the button's action. */
  name: string;
  outcome: string;
  durationMs?: number;
}

/** What the Admin API client reports after every HTTP attempt. */
export interface AdminRequestObservation {
  method: string;
  path: string;
  status: number | null;
  durationMs: number;
}

/**
 * `/v1/organizations/users/user_01AbC…` → `/v1/organizations/users/:id`: ids (segments with a digit, at least
 * 8 characters) are replaced so the label stays a small, fixed set of endpoints.
 */
export function endpointTemplate(path: string): string {
  return path
    .split('?')[0]!
    .split('/')
    .map((s) => (s.length >= 8 && /\d/.test(s) ? ':id' : s))
    .join('/');
}

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  private store: Store | null = null;
  private readonly started = Date.now();

  private readonly commands = new Counter({
    name: 'qm_commands_total',
    help: 'Chat commands by platform, command and outcome.',
    labelNames: ['platform', 'name', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly commandSeconds = new Histogram({
    name: 'qm_command_duration_seconds',
    help: 'Time from receiving a chat command to its answer, by platform, command and outcome.',
    labelNames: ['platform', 'name', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly clicks = new Counter({
    name: 'qm_button_clicks_total',
    help: 'Button clicks by platform, action and outcome.',
    labelNames: ['platform', 'name', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly adminApi = new Counter({
    name: 'qm_admin_api_requests_total',
    help: 'Anthropic Admin API requests by method and status (attempts, retries included).',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly adminApiSeconds = new Histogram({
    name: 'qm_admin_api_request_duration_seconds',
    help: 'Anthropic Admin API request latency by method, endpoint template and status.',
    labelNames: ['method', 'endpoint', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    new Gauge({
      name: 'qm_approval_requests',
      help: 'Approval requests by status.',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!metrics.store) return;
        for (const [status, n] of Object.entries(await metrics.store.approvals.countByStatus()))
          this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'qm_uptime_seconds',
      help: 'Seconds since this process started.',
      registers: [this.registry],
      collect() {
        this.set(Math.round((Date.now() - metrics.started) / 1000));
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** For the Dispatcher's `observe` hook. */
  observe(e: CommandObservation): void {
    const labels = { platform: e.platform, name: e.name, outcome: e.outcome };
    if (e.kind === 'button') {
      this.clicks.inc(labels);
      return;
    }
    this.commands.inc(labels);
    if (e.durationMs !== undefined) this.commandSeconds.observe(labels, e.durationMs / 1000);
  }

  /** For the Admin API client's `onRequest` hook. */
  adminRequest(info: AdminRequestObservation): void {
    const status = String(info.status ?? 'none');
    this.adminApi.inc({ method: info.method, status });
    this.adminApiSeconds.observe(
      { method: info.method, endpoint: endpointTemplate(info.path), status },
      info.durationMs / 1000,
    );
  }

  async render(store: Store): Promise<string> {
    this.store = store;
    return this.registry.metrics();
  }
}
