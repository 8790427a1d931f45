import { createHash } from 'node:crypto';
import { defaultRateLimits, overrides, type SimRateLimit, type SimWorkspaceRateLimit } from './rate-limits.js';
import { publicRow, UsageModel, type UsageRevision, type UsageRow } from './usage.js';

/**
 * In-memory organization behind the simulator. Objects are stored in the API's own snake_case shape (minus
 * derived fields) so the HTTP layer can serialise them without translation. `seq` gives every object a stable
 * position for id-cursor paging.
 */
export interface SimUser {
  seq: number;
  id: string;
  email: string;
  name: string;
  role: string;
  added_at: string;
}

export interface SimInvite {
  seq: number;
  id: string;
  email: string;
  role: string;
  /** Stored status; `pending` turns into `expired` once `expires_at` has passed. */
  status: 'pending' | 'accepted' | 'deleted' | 'expired';
  invited_at: string;
  expires_at: string;
}

export interface SimWorkspace {
  seq: number;
  id: string;
  name: string;
  created_at: string;
  archived_at: string | null;
  display_color: string;
  is_default: boolean;
}

export interface SimMember {
  user_id: string;
  workspace_id: string;
  workspace_role: string;
}

export interface SimApiKey {
  seq: number;
  id: string;
  name: string;
  /** Stored status; reported as `expired` once `expires_at` has passed unless archived. */
  status: 'active' | 'inactive' | 'archived';
  partial_key_hint: string | null;
  /** The workspace the key is bound to (the Default workspace's real id for Default keys); null = org-scoped. */
  scope_workspace_id: string | null;
  created_at: string;
  created_by: { id: string; type: string } | null;
  expires_at: string | null;
}

export const SIMULATED_ORG_ID = '5f1c2a9e-3b7d-4c1e-9a2f-0d8e6b4c7a31';
/** Seeded objects are created relative to this instant so the demo data is identical on every run. */
const SEED_EPOCH = Date.parse('2026-03-02T09:00:00.000Z');
const BASE62 = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Deterministic id shaped like the API's (`user_01` + 22 base58-ish chars). */
export function simId(prefix: string, key: string): string {
  const digest = createHash('sha256').update(`${prefix}:${key}`).digest();
  let out = '';
  for (let i = 0; i < 22; i++) out += BASE62[digest[i]! % BASE62.length];
  return `${prefix}_01${out}`;
}

/** Deterministic pseudo-random number in [0, 1) for a label. */
export function unitRandom(label: string): number {
  return createHash('sha256').update(label).digest().readUInt32BE(0) / 2 ** 32;
}

function fakeSecret(label: string): string {
  const digest = createHash('sha256').update(`secret:${label}`).digest('base64url');
  const body = (digest + digest + digest + digest).slice(0, 93);
  return `sk-ant-api03-${body}AA`;
}

/**
 * The secret of a simulated key (what its creator saw once in the Console): the one the simulated Models API
 * accepts, and what a test posts as a real leak. Keys given their own hint have none.
 */
export function simulatedSecret(key: { id: string; partial_key_hint: string | null }): string | null {
  const secret = fakeSecret(key.id);
  return key.partial_key_hint === keyHint(secret) ? secret : null;
}

/** What the API shows of a key: the first 16 characters, `...`, the last 4. */
export function keyHint(secret: string): string {
  return `${secret.slice(0, 16)}...${secret.slice(-4)}`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const INVITE_LIFETIME_MS = 21 * DAY;

export class SimulatorState {
  orgName = 'Acme AI (simulated)';
  users: SimUser[] = [];
  invites: SimInvite[] = [];
  workspaces: SimWorkspace[] = [];
  members: SimMember[] = [];
  apiKeys: SimApiKey[] = [];
  /** The organization's rate limits and the workspaces' overrides (rate-limits.ts); read-only over the API. */
  rateLimits: SimRateLimit[] = [];
  workspaceRateLimits: SimWorkspaceRateLimit[] = [];
  /** Active (non-archived) workspaces allowed, Default excluded. */
  maxActiveWorkspaces = 100;
  private nextSeq = 1;
  private counter = 0;
  /** Each key's status when it was added: only keys seeded active carry traffic (see usage.ts). */
  private readonly seededStatus = new Map<string, string>();
  /** The usage ground truth behind the report endpoints (usage.ts). */
  readonly usage = new UsageModel(this, this.seededStatus);

  constructor(readonly now: () => Date) {}

  /**
   * Ground truth for tests: the hourly usage rows (one per key or Console, workspace, model and service tier per
   * UTC hour with traffic) whose hour starts in [fromMs, toMs), as of `now()`, revisions applied. Usage report
   * buckets are sums (1d, 1h) or exact integer splits (1m) of these; the cost report is Σ usageCostUnits(row).
   */
  usageRows(fromMs: number | Date | string, toMs: number | Date | string): UsageRow[] {
    const ms = (v: number | Date | string) => (typeof v === 'number' ? v : new Date(v).getTime());
    return this.usage.rows(ms(fromMs), ms(toMs), this.now().getTime()).map(publicRow);
  }

  /**
   * Changes one hour of one key (or Console usage, apiKeyId null) after the fact, e.g. to prove a re-sync replaces
   * instead of adding: `factor` multiplies the hour's counts (floored; 0 removes them), `tokens` sets absolute
   * values (and creates the row if the key was idle that hour). `model` / `serviceTier` narrow it to one row. A
   * later revision of the same (key, hour, model, tier) replaces the earlier one (factors do not compound).
   * Reflected in the usage report (every bucket width) and in the cost report.
   */
  reviseUsage(r: UsageRevision): void {
    this.usage.revise(r);
  }

  /** Empties the organization (used by reset before reseeding). */
  clear(): void {
    this.orgName = 'Acme AI (simulated)';
    this.users = [];
    this.invites = [];
    this.workspaces = [];
    this.members = [];
    this.apiKeys = [];
    this.rateLimits = [];
    this.workspaceRateLimits = [];
    this.maxActiveWorkspaces = 100;
    this.nextSeq = 1;
    this.counter = 0;
    this.seededStatus.clear();
    this.usage.reset();
  }

  private seqNo(): number {
    return this.nextSeq++;
  }

  private uniqueId(prefix: string, hint: string): string {
    this.counter++;
    return simId(prefix, `${hint}#${this.counter}`);
  }

  get defaultWorkspace(): SimWorkspace | undefined {
    return this.workspaces.find((w) => w.is_default);
  }

  addUser(u: { email: string; name?: string; role?: string; addedAt?: string; id?: string }): SimUser {
    const user: SimUser = {
      seq: this.seqNo(),
      id: u.id ?? this.uniqueId('user', u.email),
      email: u.email,
      name: u.name ?? u.email.split('@')[0]!,
      role: u.role ?? 'user',
      added_at: u.addedAt ?? iso(this.now().getTime()),
    };
    this.users.push(user);
    return user;
  }

  addWorkspace(w: {
    name: string;
    isDefault?: boolean;
    archivedAt?: string | null;
    createdAt?: string;
    displayColor?: string;
    id?: string;
  }): SimWorkspace {
    const ws: SimWorkspace = {
      seq: this.seqNo(),
      id: w.id ?? this.uniqueId('wrkspc', w.name),
      name: w.name,
      created_at: w.createdAt ?? iso(this.now().getTime()),
      archived_at: w.archivedAt ?? null,
      display_color: w.displayColor ?? '#6C5BB9',
      is_default: w.isDefault ?? false,
    };
    this.workspaces.push(ws);
    return ws;
  }

  addMember(workspaceId: string, userId: string, workspaceRole: string): SimMember {
    const existing = this.members.find((m) => m.workspace_id === workspaceId && m.user_id === userId);
    if (existing) {
      existing.workspace_role = workspaceRole;
      return existing;
    }
    const m: SimMember = { workspace_id: workspaceId, user_id: userId, workspace_role: workspaceRole };
    this.members.push(m);
    return m;
  }

  addApiKey(k: {
    name: string;
    workspaceId: string | null;
    status?: SimApiKey['status'];
    createdBy?: { id: string; type: string } | null;
    createdAt?: string;
    expiresAt?: string | null;
    partialKeyHint?: string | null;
    id?: string;
  }): SimApiKey {
    const id = k.id ?? this.uniqueId('apikey', k.name);
    const key: SimApiKey = {
      seq: this.seqNo(),
      id,
      name: k.name,
      status: k.status ?? 'active',
      partial_key_hint: k.partialKeyHint === undefined ? keyHint(fakeSecret(id)) : k.partialKeyHint,
      scope_workspace_id: k.workspaceId,
      created_at: k.createdAt ?? iso(this.now().getTime()),
      created_by: k.createdBy === undefined ? null : k.createdBy,
      expires_at: k.expiresAt ?? null,
    };
    this.apiKeys.push(key);
    this.seededStatus.set(key.id, key.status);
    return key;
  }

  addInvite(i: {
    email: string;
    role: string;
    invitedAt?: string;
    status?: SimInvite['status'];
    id?: string;
  }): SimInvite {
    const invitedAt = i.invitedAt ?? iso(this.now().getTime());
    const inv: SimInvite = {
      seq: this.seqNo(),
      id: i.id ?? this.uniqueId('invite', i.email),
      email: i.email,
      role: i.role,
      status: i.status ?? 'pending',
      invited_at: invitedAt,
      expires_at: iso(Date.parse(invitedAt) + INVITE_LIFETIME_MS),
    };
    this.invites.push(inv);
    return inv;
  }

  userByEmail(email: string): SimUser | undefined {
    return this.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
  }

  /** Status as the API reports it: expiry is evaluated against the simulator clock. */
  keyStatus(k: SimApiKey): string {
    if (k.status !== 'archived' && k.expires_at && Date.parse(k.expires_at) <= this.now().getTime()) return 'expired';
    return k.status;
  }

  inviteStatus(i: SimInvite): string {
    if (i.status === 'pending' && Date.parse(i.expires_at) <= this.now().getTime()) return 'expired';
    return i.status;
  }

  /**
   * Members as the API lists them: explicit memberships plus the roles org admins (workspace_admin) and billing
   * members (workspace_billing) inherit in every workspace.
   */
  membersOf(workspaceId: string): SimMember[] {
    // Indexed once per call: a large organization has thousands of users and memberships.
    const out: SimMember[] = [];
    const explicitOf = new Map<string, SimMember>();
    for (const m of this.members)
      if (m.workspace_id === workspaceId && !explicitOf.has(m.user_id)) explicitOf.set(m.user_id, m);
    for (const u of this.users) {
      const explicit = explicitOf.get(u.id);
      if (explicit) out.push(explicit);
      else if (u.role === 'admin')
        out.push({ workspace_id: workspaceId, user_id: u.id, workspace_role: 'workspace_admin' });
      else if (u.role === 'billing')
        out.push({ workspace_id: workspaceId, user_id: u.id, workspace_role: 'workspace_billing' });
    }
    return out;
  }

  /**
   * The organization in one phrase, counted the way `/qm workspaces list` and the directory sync count it (the
   * Default workspace and archived ones apart). The simulator's banner, Quartermaster's start-up guidance and the
   * README all say this, so the counts agree.
   */
  summary(): string {
    const listed = this.workspaces.filter((w) => !w.is_default);
    const active = listed.filter((w) => w.archived_at === null).length;
    const archived = listed.length - active;
    const extras = [this.defaultWorkspace ? 'the Default workspace' : '', archived ? `${archived} archived` : '']
      .filter(Boolean)
      .join(' and ');
    return `${this.users.length} members, ${active} workspaces${extras ? ` (plus ${extras})` : ''}, ${this.apiKeys.length} API keys`;
  }

  toJSON() {
    return {
      orgName: this.orgName,
      users: this.users,
      invites: this.invites.map((i) => ({ ...i, status: this.inviteStatus(i) })),
      workspaces: this.workspaces,
      members: this.members,
      apiKeys: this.apiKeys.map((k) => ({ ...k, status: this.keyStatus(k) })),
      rateLimits: this.rateLimits,
      workspaceRateLimits: this.workspaceRateLimits,
    };
  }
}

const GENERATED_PEOPLE = [
  'Frank Fischer',
  'Grace Hopper',
  'Heidi Klum',
  'Ivan Petrov',
  'Judy Jetson',
  'Ken Thompson',
  'Liam Murphy',
  'Mallory Stone',
  'Nina Simone',
  'Oscar Wilde',
  'Peggy Olson',
  'Quinn Fabray',
  'Rupert Giles',
  'Sybil Trelawney',
  'Trent Reznor',
  'Ursula Le Guin',
  'Victor Hugo',
  'Walter White',
  'Xena Warrior',
  'Yolanda Adams',
];

export function seedDemo(s: SimulatorState): void {
  const at = (hours: number) => iso(SEED_EPOCH + hours * HOUR);
  const user = (email: string, name: string, role: string, hours: number) =>
    s.addUser({ id: simId('user', email), email, name, role, addedAt: at(hours) });

  const alice = user('alice@example.com', 'Alice Admin', 'admin', 0);
  const bob = user('bob@example.com', 'Bob Builder', 'developer', 2);
  user('carol@example.com', 'Carol Counts', 'billing', 4);
  const dave = user('dave@example.com', 'Dave Davis', 'user', 6);
  const erin = user('erin@example.com', 'Erin Example', 'claude_code_user', 8);
  const generated = GENERATED_PEOPLE.map((name, i) => {
    const email = `${name.split(' ')[0]!.toLowerCase()}@example.com`;
    return user(email, name, i % 3 === 2 ? 'user' : 'developer', 24 + i * 5);
  });
  const [frank, grace, heidi, ivan, judy, ken] = generated as [SimUser, SimUser, SimUser, SimUser, SimUser, SimUser];

  const ws = (name: string, hours: number, color: string, extra: { isDefault?: boolean; archivedAt?: string } = {}) =>
    s.addWorkspace({ id: simId('wrkspc', name), name, createdAt: at(hours), displayColor: color, ...extra });
  const def = ws('Default', -48, '#8A8A8A', { isDefault: true });
  const prod = ws('prod', 1, '#D9534F');
  const staging = ws('staging', 3, '#F0AD4E');
  const research = ws('research', 5, '#5BC0DE');
  const old = ws('old-experiments', -24, '#777777', { archivedAt: at(400) });

  // Rate limits: the organization's, a lower Sonnet and batch ceiling in staging, an Opus override in research.
  s.rateLimits = defaultRateLimits();
  s.workspaceRateLimits = [
    ...overrides(staging.id, s.rateLimits, {
      'claude-sonnet-4': { requests_per_minute: 1_000, output_tokens_per_minute: 100_000 },
      batch: { enqueued_batch_requests: 50_000 },
    }),
    ...overrides(research.id, s.rateLimits, { 'claude-opus-4': { input_tokens_per_minute_cache_aware: 500_000 } }),
  ];

  s.addMember(prod.id, bob.id, 'workspace_developer');
  s.addMember(staging.id, bob.id, 'workspace_developer');
  s.addMember(research.id, dave.id, 'workspace_user');
  s.addMember(prod.id, frank.id, 'workspace_developer');
  s.addMember(research.id, grace.id, 'workspace_admin');
  s.addMember(staging.id, heidi.id, 'workspace_restricted_developer');
  s.addMember(prod.id, ivan.id, 'workspace_user');
  s.addMember(research.id, judy.id, 'workspace_developer');
  s.addMember(staging.id, ken.id, 'workspace_admin');
  s.addMember(research.id, erin.id, 'workspace_user');

  const creators = [bob, frank, alice, judy, grace, ken];
  const plan: Array<{ ws: SimWorkspace | null; names: string[] }> = [
    {
      ws: prod,
      names: [
        'prod-backend',
        'prod-worker',
        'prod-search',
        'prod-chat',
        'prod-batch',
        'prod-evals',
        'prod-webhooks',
        'prod-summaries',
        'prod-support-bot',
        'prod-ingest',
        'prod-classifier',
        'prod-legacy',
        'prod-canary',
        'prod-analytics',
        'prod-mobile',
      ],
    },
    {
      ws: staging,
      names: [
        'staging-backend',
        'staging-worker',
        'staging-e2e',
        'staging-load-test',
        'staging-preview',
        'staging-ci',
        'staging-chat',
        'staging-temp',
        'staging-demo',
        'staging-old',
      ],
    },
    {
      ws: research,
      names: [
        'research-notebook',
        'research-evals',
        'research-agents',
        'research-sweeps',
        'research-red-team',
        'research-dataset-gen',
        'research-temp',
        'research-intern',
      ],
    },
    {
      ws: def,
      names: ['default-playground', 'default-script', 'default-hackathon', 'default-old', 'default-cli', 'laptop'],
    },
    { ws: old, names: ['old-exp-1', 'old-exp-2', 'old-exp-3', 'old-exp-4'] },
    { ws: null, names: ['org-wide-reporting', 'org-wide-gateway'] },
  ];
  let n = 0;
  for (const group of plan) {
    for (const name of group.names) {
      n++;
      const creator = creators[n % creators.length]!;
      let status: SimApiKey['status'] = 'active';
      if (group.ws === old || name.endsWith('-old') || name === 'prod-legacy') status = 'archived';
      else if (n % 7 === 0 || name.endsWith('-temp')) status = 'inactive';
      let expiresAt: string | null = null;
      // A few keys expired during the demo period, a few expire well after it.
      if (name === 'staging-load-test' || name === 'research-intern') expiresAt = at(24 * 30);
      else if (n % 9 === 0 || name === 'default-hackathon')
        expiresAt = iso(Date.parse('2027-06-30T00:00:00Z') + n * DAY);
      s.addApiKey({
        id: simId('apikey', name),
        name,
        workspaceId: group.ws?.id ?? null,
        status,
        createdBy: name === 'org-wide-gateway' ? null : { id: creator.id, type: 'user' },
        createdAt: at(30 + n * 7),
        expiresAt,
      });
    }
  }

  // Invites are dated relative to the simulator clock so the demo always has some still pending.
  const nowMs = s.now().getTime();
  const dayStart = nowMs - (nowMs % DAY);
  s.addInvite({
    id: simId('invite', 'new.hire'),
    email: 'new.hire@example.com',
    role: 'developer',
    invitedAt: iso(dayStart - 2 * DAY),
  });
  s.addInvite({
    id: simId('invite', 'contractor'),
    email: 'contractor@example.org',
    role: 'user',
    invitedAt: iso(dayStart - 5 * DAY),
  });
  s.addInvite({
    id: simId('invite', 'analyst'),
    email: 'analyst@example.com',
    role: 'billing',
    invitedAt: iso(dayStart - 30 * DAY),
  });
  s.addInvite({
    id: simId('invite', 'grace'),
    email: grace.email,
    role: 'developer',
    invitedAt: grace.added_at,
    status: 'accepted',
  });
}

export interface LargeSeedOptions {
  /** Organization members (default 2,000). */
  users?: number;
  /** API keys (default 10,000). */
  keys?: number;
  /** Active workspaces besides Default (default 100, the API's limit); a few archived ones come on top. */
  workspaces?: number;
}

const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloe',
  'Dmitri',
  'Elena',
  'Farah',
  'Gustavo',
  'Hana',
  'Ibrahim',
  'Jonas',
  'Keiko',
  'Lucia',
  'Mateo',
  'Nadia',
  'Olu',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tomoko',
  'Uma',
  'Viktor',
  'Wen',
  'Yusuf',
  'Zara',
];
const LAST_NAMES = [
  'Abara',
  'Berg',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fontaine',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Patel',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Varga',
];
const TEAMS = [
  'payments',
  'search',
  'support',
  'growth',
  'data',
  'infra',
  'mobile',
  'web',
  'risk',
  'ml-platform',
  'evals',
  'security',
  'billing',
  'docs',
  'sales-eng',
  'research',
  'agents',
  'ads',
  'ops',
  'labs',
];
const STAGES = ['prod', 'staging', 'dev', 'sandbox', 'eu'];
const KEY_PURPOSES = ['backend', 'worker', 'batch', 'ci', 'notebook', 'cron', 'gateway', 'webhooks', 'evals', 'cli'];
const WORKSPACE_ROLE_MIX = [
  'workspace_developer',
  'workspace_developer',
  'workspace_developer',
  'workspace_developer',
  'workspace_developer',
  'workspace_user',
  'workspace_user',
  'workspace_user',
  'workspace_admin',
  'workspace_restricted_developer',
];
const COPRIME_STRIDES = [7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];

/**
 * A large organization for benchmarks (`simulator --seed large`): by default 2,000 members, 100 active workspaces
 * (plus Default and a few archived ones) with 20-60 explicit members each, 10,000 API keys spread over them, and
 * a handful of invites. Deterministic: the same options give the same ids, names and dates on every run.
 * Shapes follow seedDemo: a few org admins and billing members (who inherit a role in every workspace), mostly
 * developers and users; keys active, inactive, archived, some expiring, most created by a member of their workspace.
 */
export function seedLarge(s: SimulatorState, o: LargeSeedOptions = {}): void {
  const userCount = o.users ?? 2000;
  const keyCount = o.keys ?? 10_000;
  const workspaceCount = o.workspaces ?? 100;
  s.orgName = 'Globex (simulated large organization)';
  s.rateLimits = defaultRateLimits();
  s.maxActiveWorkspaces = Math.max(s.maxActiveWorkspaces, workspaceCount);
  const at = (hours: number) => iso(SEED_EPOCH + hours * HOUR);

  const users: SimUser[] = [];
  for (let i = 0; i < userCount; i++) {
    const first = FIRST_NAMES[i % FIRST_NAMES.length]!;
    const last = LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length]!;
    const email = `${first}.${last}.${i}@globex.example.com`.toLowerCase();
    // One admin in 400 (the first member is always one), one billing member in 200, then a realistic mix.
    const r = unitRandom(`large:role:${i}`);
    const role =
      i % 400 === 0
        ? 'admin'
        : i % 200 === 7
          ? 'billing'
          : r < 0.45
            ? 'developer'
            : r < 0.55
              ? 'claude_code_user'
              : 'user';
    users.push(
      s.addUser({
        id: simId('user', email),
        email,
        name: `${first} ${last}`,
        role,
        addedAt: at(-24 * 700 + Math.floor((i * 24 * 700) / userCount)),
      }),
    );
  }
  const regular = users.filter((u) => u.role !== 'admin' && u.role !== 'billing');
  const developers = users.filter((u) => u.role === 'developer');

  const def = s.addWorkspace({
    id: simId('wrkspc', 'large:Default'),
    name: 'Default',
    isDefault: true,
    createdAt: at(-24 * 800),
    displayColor: '#8A8A8A',
  });
  const active: SimWorkspace[] = [];
  for (let i = 0; i < workspaceCount; i++) {
    const name = `${TEAMS[i % TEAMS.length]}-${STAGES[Math.floor(i / TEAMS.length) % STAGES.length]}${i >= TEAMS.length * STAGES.length ? `-${i}` : ''}`;
    active.push(
      s.addWorkspace({
        id: simId('wrkspc', `large:${name}`),
        name,
        createdAt: at(-24 * 700 + i * 24 * 5),
        displayColor: `#${simId('color', name)
          .slice(-6)
          .replace(/[^0-9A-F]/gi, '7')
          .toUpperCase()}`,
      }),
    );
  }
  const archived: SimWorkspace[] = [];
  for (let i = 0; i < Math.max(1, Math.round(workspaceCount / 25)); i++) {
    const name = `retired-${i + 1}`;
    archived.push(
      s.addWorkspace({
        id: simId('wrkspc', `large:${name}`),
        name,
        createdAt: at(-24 * 750 + i * 24),
        archivedAt: at(-24 * 200 + i * 24),
        displayColor: '#777777',
      }),
    );
  }

  // Explicit memberships: 20-60 members per workspace, walked through the non-admin members with a stride that
  // is coprime with their count, so each workspace gets distinct people and the org is covered evenly.
  const membersOf = new Map<string, SimUser[]>();
  for (const [i, w] of [...active, ...archived].entries()) {
    const size = Math.min(regular.length, 20 + Math.floor(unitRandom(`large:size:${w.id}`) * 41));
    const stride = COPRIME_STRIDES.find((p) => regular.length % p !== 0) ?? 1;
    const start = Math.floor(unitRandom(`large:start:${w.id}`) * regular.length);
    const picked: SimUser[] = [];
    for (let j = 0; j < size; j++) {
      const u = regular[(start + j * stride * (1 + (i % 3))) % regular.length]!;
      if (picked.includes(u)) continue;
      picked.push(u);
      const role =
        WORKSPACE_ROLE_MIX[Math.floor(unitRandom(`large:wsrole:${w.id}:${u.id}`) * WORKSPACE_ROLE_MIX.length)]!;
      s.members.push({ workspace_id: w.id, user_id: u.id, workspace_role: role });
    }
    membersOf.set(w.id, picked);
  }

  // Keys: ~88% in active workspaces, ~8% in Default, ~3% in archived workspaces, ~1% organization-scoped.
  for (let n = 0; n < keyCount; n++) {
    const r = unitRandom(`large:keyplace:${n}`);
    const ws =
      r < 0.88 ? active[n % active.length]! : r < 0.96 ? def : r < 0.99 ? archived[n % archived.length]! : null;
    const pool = (ws && membersOf.get(ws.id)) || developers;
    const creator = pool.length ? pool[n % pool.length]! : null;
    const purpose = KEY_PURPOSES[n % KEY_PURPOSES.length]!;
    const name = `${ws ? (ws.is_default ? 'default' : ws.name) : 'org'}-${purpose}-${n}`;
    const s2 = unitRandom(`large:keystatus:${n}`);
    const status: SimApiKey['status'] =
      ws && archived.includes(ws) ? 'archived' : s2 < 0.15 ? 'archived' : s2 < 0.23 ? 'inactive' : 'active';
    const e = unitRandom(`large:keyexpiry:${n}`);
    const createdHours = -24 * 600 + Math.floor((n * 24 * 600) / keyCount);
    // About one key in ten expires: most well after the seed epoch, a few already expired.
    const expiresAt = e < 0.08 ? iso(Date.parse('2027-06-30T00:00:00Z') + n * HOUR) : e < 0.1 ? at(-24 * 30) : null;
    s.addApiKey({
      id: simId('apikey', `large:${n}`),
      name,
      workspaceId: ws?.id ?? null,
      status,
      createdBy: creator && r < 0.995 ? { id: creator.id, type: 'user' } : null,
      createdAt: at(createdHours),
      expiresAt,
    });
  }

  // Invites, dated relative to the simulator clock so some are always pending.
  const nowMs = s.now().getTime();
  const dayStart = nowMs - (nowMs % DAY);
  const inviteStatuses: SimInvite['status'][] = ['pending', 'pending', 'pending', 'accepted', 'expired', 'deleted'];
  for (let i = 0; i < 60; i++) {
    const status = inviteStatuses[i % inviteStatuses.length]!;
    s.addInvite({
      id: simId('invite', `large:${i}`),
      email: `new.hire.${i}@globex.example.com`,
      role: i % 4 === 0 ? 'user' : 'developer',
      invitedAt: iso(dayStart - (status === 'expired' ? 30 + i : 1 + (i % 14)) * DAY),
      status: status === 'expired' ? 'pending' : status,
    });
  }
}
