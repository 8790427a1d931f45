import { ReportError } from './reports.js';
import { SIMULATED_ORG_ID, type SimulatorState } from './state.js';
import { DAY, formatCents, HOUR, SIM_PRICES, tokenCostUnits } from './usage.js';

/**
 * `GET /v1/organizations/usage_report/claude_code` (admin-api.md §3.9): one record per Claude Code user (or API key
 * actor) per UTC day. Users are a deterministic subset of the organization's developers, Claude Code users and
 * admins; each is active on most weekdays and few weekend days from the day they joined. The current day carries
 * the part of the day that has elapsed minus the report's one-hour lag, so later fetches revise it; later days are
 * empty. Records are ordered by actor (e-mail address, then API key name) and paged with an opaque offset token.
 */

const TERMINALS = ['vscode', 'iTerm.app', 'Terminal', 'cursor', 'jetbrains', 'ghostty'];
const CC_MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-6', 'claude-haiku-4-5'];

/** Deterministic number in [0, 1) for a label (FNV-1a + murmur finaliser; cheap enough for 1,000s of records). */
function rnd(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

interface Actor {
  sortKey: string;
  id: string;
  actor: { type: 'user_actor'; email_address: string } | { type: 'api_actor'; api_key_name: string };
  since: number;
  /** Usage intensity, 0.2-1. */
  intensity: number;
}

function actors(state: SimulatorState): Actor[] {
  const share = state.users.length > 200 ? 0.25 : 0.7;
  const out: Actor[] = [];
  for (const u of state.users) {
    if (u.role !== 'developer' && u.role !== 'claude_code_user' && u.role !== 'admin') continue;
    if (u.role !== 'claude_code_user' && rnd(`cc:user:${u.id}`) >= share) continue;
    out.push({
      sortKey: `0:${u.email}`,
      id: u.id,
      actor: { type: 'user_actor', email_address: u.email },
      since: Date.parse(u.added_at),
      intensity: 0.2 + 0.8 * rnd(`cc:intensity:${u.id}`),
    });
  }
  // CI and CLI keys run Claude Code headless under their own name.
  for (const k of state.apiKeys) {
    if (!/(^|-)(ci|cli)(-|$)/.test(k.name) || k.status !== 'active' || rnd(`cc:key:${k.id}`) >= 0.5) continue;
    out.push({
      sortKey: `1:${k.name}`,
      id: k.id,
      actor: { type: 'api_actor', api_key_name: k.name },
      since: Date.parse(k.created_at),
      intensity: 0.5,
    });
  }
  return out.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
}

/** The records of one UTC day (`dayMs` = its midnight) as of `nowMs`, in page order. */
export function claudeCodeRecords(state: SimulatorState, dayMs: number, nowMs: number) {
  const frac = Math.min(1, Math.max(0, (nowMs - HOUR - dayMs) / DAY));
  if (frac === 0) return [];
  const dayIdx = Math.floor(dayMs / DAY);
  const weekend = [0, 6].includes(new Date(dayMs).getUTCDay());
  const out = [];
  for (const a of actors(state)) {
    if (a.since >= dayMs + DAY) continue;
    const r = (salt: string) => rnd(`cc:${a.id}:${dayIdx}:${salt}`);
    const isCi = a.actor.type === 'api_actor';
    if (r('active') >= (isCi ? 0.9 : weekend ? 0.12 : 0.8)) continue;
    const scale = (n: number) => Math.floor(n * frac);
    const sessions = scale(1 + Math.floor(r('sessions') * 10 * a.intensity));
    if (sessions === 0) continue;
    const added = Math.floor(sessions * (40 + 400 * r('lines')));
    const tool = (name: string, per: number) => {
      const accepted = Math.floor(sessions * per * r(`${name}:a`));
      return { accepted, rejected: Math.floor(accepted * 0.25 * r(`${name}:r`)) };
    };
    const models = [CC_MODELS[Math.floor(r('model') * 2)]!];
    if (r('second') < 0.35) models.push(CC_MODELS[2]!);
    const model_breakdown = models.map((model, i) => {
      const share = models.length === 1 ? 1 : i === 0 ? 0.85 : 0.15;
      const input = Math.floor(sessions * share * (20_000 + 180_000 * r(`${model}:in`)));
      const tokens = {
        input,
        output: Math.floor(input * (0.1 + 0.25 * r(`${model}:out`))),
        cache_read: Math.floor(input * (4 + 16 * r(`${model}:read`))),
        cache_creation: Math.floor(input * (0.4 + 0.8 * r(`${model}:write`))),
      };
      const p = SIM_PRICES[model]!;
      const units =
        tokenCostUnits(tokens.input, p.in, 'standard') +
        tokenCostUnits(tokens.output, p.out, 'standard') +
        tokenCostUnits(tokens.cache_read, p.read, 'standard') +
        tokenCostUnits(tokens.cache_creation, p.w5m, 'standard');
      return { model, tokens, estimated_cost: { currency: 'USD', amount: Number(formatCents(units)) } };
    });
    const commits = Math.floor(sessions * 0.9 * r('commits'));
    out.push({
      date: new Date(dayMs).toISOString().replace('.000Z', 'Z'),
      actor: a.actor,
      organization_id: SIMULATED_ORG_ID,
      customer_type: 'api',
      subscription_type: null,
      terminal_type: isCi ? 'non-interactive' : TERMINALS[Math.floor(rnd(`cc:terminal:${a.id}`) * TERMINALS.length)]!,
      core_metrics: {
        num_sessions: sessions,
        lines_of_code: { added, removed: Math.floor(added * (0.1 + 0.5 * r('removed'))) },
        commits_by_claude_code: commits,
        pull_requests_by_claude_code: Math.floor(commits * 0.4 * r('prs')),
      },
      tool_actions: {
        edit_tool: tool('edit', 14),
        multi_edit_tool: tool('multi', 5),
        write_tool: tool('write', 4),
        notebook_edit_tool: tool('notebook', r('nb') < 0.2 ? 3 : 0),
      },
      model_breakdown,
    });
  }
  return out;
}

export function claudeCodeReport(state: SimulatorState, q: URLSearchParams) {
  const day = q.get('starting_at');
  if (day === null) throw new ReportError('starting_at: Field required');
  const dayMs = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(dayMs) || new Date(dayMs).toISOString().slice(0, 10) !== day) {
    throw new ReportError('starting_at: Input should be a valid date in the format YYYY-MM-DD');
  }
  const limitRaw = q.get('limit');
  const limit = limitRaw === null ? 20 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ReportError('limit: Input should be greater than or equal to 1 and less than or equal to 1000');
  }
  const page = q.get('page');
  let offset = 0;
  if (page !== null) {
    const m = /^page_(.+)$/.exec(page);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const pm = /^cc:(\d{4}-\d{2}-\d{2}):(\d+)$/.exec(decoded);
    if (!pm || pm[1] !== day) throw new ReportError('page: invalid page token');
    offset = Number(pm[2]);
  }
  const all = claudeCodeRecords(state, dayMs, state.now().getTime());
  const data = all.slice(offset, offset + limit);
  const hasMore = offset + limit < all.length;
  return {
    data,
    has_more: hasMore,
    next_page: hasMore ? `page_${Buffer.from(`cc:${day}:${offset + limit}`).toString('base64')}` : null,
  };
}
