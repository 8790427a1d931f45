/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4): counters for commands, button clicks and
 * Admin API requests, and approval requests by status read from the database at scrape time. Small enough
 * not to need a metrics library; labels are escaped as the format requires.
 */
import type { Store } from '../core/ports/store.js';

type Labels = Record<string, string>;

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1): void {
    const key = JSON.stringify(Object.entries(labels).sort());
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }
  render(type = 'counter'): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${type}`];
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${fmt(labels)} ${value}`);
    return out;
  }
}

function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  readonly commands = new Counter('qm_commands_total', 'Chat commands by platform, command and outcome.');
  readonly clicks = new Counter('qm_button_clicks_total', 'Button clicks by platform, action and outcome.');
  readonly adminApi = new Counter(
    'qm_admin_api_requests_total',
    'Anthropic Admin API requests by method and status (attempts, retries included).',
  );
  readonly adminApiSeconds = new Counter(
    'qm_admin_api_request_seconds_total',
    'Time spent waiting for the Anthropic Admin API.',
  );
  private readonly started = Date.now();

  async render(store: Store): Promise<string> {
    const lines = [
      ...this.commands.render(),
      ...this.clicks.render(),
      ...this.adminApi.render(),
      ...this.adminApiSeconds.render(),
    ];
    const byStatus = new Map<string, number>();
    for (const r of await store.approvals.list({ limit: 10_000 }))
      byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    lines.push('# HELP qm_approval_requests Approval requests by status.', '# TYPE qm_approval_requests gauge');
    for (const [status, n] of byStatus) lines.push(`qm_approval_requests${fmt({ status })} ${n}`);
    lines.push('# HELP qm_uptime_seconds Seconds since this process started.', '# TYPE qm_uptime_seconds gauge');
    lines.push(`qm_uptime_seconds ${Math.round((Date.now() - this.started) / 1000)}`);
    return `${lines.join('\n')}\n`;
  }
}
