/**
 * The leak intake webhooks (issue 11): GitHub secret scanning alerts, and gitleaks / trufflehog JSON reports, fed
 * into the same incident flow as chat scanning (reportSecret). src/http/webhooks.ts does the HTTP (the raw body,
 * its size cap, the status codes); this module decides. No crypto of its own: services.hasher signs and compares.
 *
 * GitHub (`POST /webhooks/github`, event `secret_scanning_alert` and `secret_scanning_alert_location`):
 *  - verified with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under GITHUB_WEBHOOK_SECRET>`,
 *    compared in constant time;
 *  - the Anthropic secret types are `anthropic_api_key` and `anthropic_admin_api_key` (GitHub's supported
 *    patterns); `anthropic_session_id` (a claude.ai session cookie, no Admin API credential) and every other type
 *    are acknowledged and ignored;
 *  - acted on: `created`, `reopened` and `publicly_leaked` alerts, and new alert locations; `resolved`, `validated`,
 *    `assigned`, `unassigned` are acknowledged and ignored (closing an incident stays a person's decision in chat);
 *  - GitHub does NOT send the secret in webhooks (the webhook's alert object has no `secret` field; only the REST
 *    API's alert has it, and reading it needs a GitHub token Quartermaster is not given). So the key cannot be
 *    fingerprinted, hinted or matched: the alert becomes an incident of its own, keyed by the alert
 *    (`github-alert:<repository id>#<alert number>`, never a secret's fingerprint: it cannot collide with one), with
 *    the hint `GitHub alert #<number>` and no key; its card (incidentCard, in the policy's leak channels) links to
 *    the alert and says the key is unknown. Every event of one alert joins that incident and updates the card. Should an alert carry `secret` after all (a REST alert forwarded as is), the secret goes
 *    through reportSecret like any other sighting and is matched to its key;
 *  - idempotent: each sighting has a sourceKey (the alert, its action and the delivery), so a redelivered event
 *    changes nothing; the delivery (`X-GitHub-Delivery`) is marked processed once it succeeded (a delivery that
 *    failed can be redelivered and is then processed).
 *
 * gitleaks / trufflehog (`POST /webhooks/leaks`, `Authorization: Bearer LEAK_WEBHOOK_TOKEN`):
 *  - gitleaks `--report-format json`: an array of findings {RuleID, Secret, Match, File, StartLine, Commit, Author,
 *    Email, Link?, Fingerprint, …};
 *  - trufflehog `--json`: one result per line {DetectorName, Raw, RawV2, Verified, SourceMetadata: {Data: {Git |
 *    Github | Filesystem | …: {file, line, commit, repository, email, link?}}}} (an array of them is taken too);
 *  - only Anthropic secrets are taken (classifySecret on the finding's secret, else on the tokens of its match);
 *    the rest is counted and ignored; a finding of an Anthropic rule whose secret was redacted (`--redact`) is
 *    counted as such, since nothing can be matched without it;
 *  - sourceKey per finding: tool, commit, file, line and a keyed digest of the secret, so a report sent twice
 *    changes nothing.
 * The answers never repeat a secret, nor anything else from a finding: counts and incident ids only.
 */
import type { LeakSighting } from '../ports/leaks.js';
import type { Services } from '../services.js';
import { classifySecret, isTokenChar, SECRET_PREFIX, type SecretKind } from './detect.js';
import {
  FINGERPRINT_SECRET,
  GITHUB_ALERT_FINGERPRINT,
  postCard,
  type ReportOutcome,
  refreshCard,
  reportSecret,
} from './incidents.js';

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** GitHub's secret types for Anthropic credentials the Admin API manages, and the kind each one is. */
export const GITHUB_ANTHROPIC_TYPES: Readonly<Record<string, SecretKind>> = {
  anthropic_api_key: 'anthropic_api_key',
  anthropic_admin_api_key: 'anthropic_admin_key',
};

const ACTED_ON = new Set(['created', 'reopened', 'publicly_leaked']);

// ---- GitHub

/** Whether `X-Hub-Signature-256` is `sha256=` + the hex HMAC-SHA256 of the raw body under the secret. */
export function githubSignatureValid(
  s: Pick<Services, 'hasher'>,
  secret: string,
  rawBody: string,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = `sha256=${s.hasher.hmacSha256Hex(secret, rawBody)}`;
  return s.hasher.timingSafeEqual(expected, header);
}

export interface GithubDelivery {
  /** `X-GitHub-Event`. */
  event: string;
  /** `X-GitHub-Delivery`. */
  deliveryId: string;
  /** The verified raw body. */
  body: string;
}

/** Handles a delivery whose signature was verified. */
export async function handleGithubDelivery(s: Services, d: GithubDelivery): Promise<WebhookAnswer> {
  const log = s.logger.child({ webhook: 'github', delivery: d.deliveryId });
  if (d.event === 'ping') return { status: 200, body: { ok: true, message: 'pong' } };
  if (d.event !== 'secret_scanning_alert' && d.event !== 'secret_scanning_alert_location') {
    return { status: 200, body: { ignored: 'event not handled', event: safeWord(d.event) } };
  }
  const payload = parseJson(d.body);
  const alert = obj(payload?.alert);
  const repository = obj(payload?.repository);
  const action = str(payload?.action);
  const number = payload && alert ? num(alert.number) : null;
  const fullName = repository ? str(repository.full_name) : null;
  if (!alert || !repository || !action || number === null || !fullName) {
    return {
      status: 400,
      body: {
        error: 'bad_request',
        message: `A ${d.event} event needs action, alert.number and repository.full_name.`,
      },
    };
  }
  if (d.event === 'secret_scanning_alert' && !ACTED_ON.has(action)) {
    return { status: 200, body: { ignored: 'action not acted on', action: safeWord(action) } };
  }
  if (d.event === 'secret_scanning_alert_location' && action !== 'created') {
    return { status: 200, body: { ignored: 'action not acted on', action: safeWord(action) } };
  }
  const secretType = str(alert.secret_type) ?? '';
  const kind = GITHUB_ANTHROPIC_TYPES[secretType];
  if (!kind) {
    log.debug({ secretType: safeWord(secretType) }, 'github secret scanning alert ignored: not an Anthropic key');
    return { status: 200, body: { ignored: 'not an Anthropic API or admin key', secret_type: safeWord(secretType) } };
  }

  const location = obj(payload?.location);
  const where = location ? describeGithubLocation(location) : null;
  const sourceKey =
    `github:${cap(fullName, 200)}#${number}` +
    (d.event === 'secret_scanning_alert_location'
      ? `:location:${where?.key ?? d.deliveryId}`
      : action === 'created'
        ? ''
        : `:${action}:${d.deliveryId}`);
  const sighting: Omit<LeakSighting, 'incidentId'> = {
    source: 'github',
    sourceKey,
    location: cap(
      (where ? `${fullName} ${where.text}` : fullName) + (action === 'publicly_leaked' ? ' (found in public)' : ''),
      300,
    ),
    url: httpUrl(alert.html_url),
    actor: login(alert.push_protection_bypassed_by) ?? login(payload?.sender),
    seenAt: s.clock.now(),
  };

  const secret = str(alert.secret);
  const secretKind = secret ? classifySecret(secret) : null;
  const outcome: ReportOutcome =
    secret && secretKind
      ? await reportSecret(s, { secret, kind: secretKind, sighting })
      : await reportGithubAlert(s, {
          kind,
          alertKey: `${num(repository.id) ?? cap(fullName, 200)}#${number}`,
          number,
          sighting,
        });
  const first = await s.store.leaks.firstDelivery(`github:${d.deliveryId}`, s.clock.now());
  log.info(
    {
      event: d.event,
      action: safeWord(action),
      incident: outcome.incident.id,
      created: outcome.created,
      duplicate: outcome.duplicate,
      redelivery: !first,
    },
    'github secret scanning alert received',
  );
  return {
    status: 200,
    body: {
      incident: outcome.incident.id,
      created: outcome.created,
      duplicate: outcome.duplicate || !first,
      keyKnown: Boolean(secret && secretKind),
    },
  };
}

function describeGithubLocation(location: Record<string, unknown>): { text: string; key: string } | null {
  const type = str(location.type);
  const details = obj(location.details);
  if (!type || !details) return null;
  if (type === 'commit' || type === 'wiki_commit') {
    const path = str(details.path) ?? '?';
    const line = num(details.start_line);
    const commit = str(details.commit_sha) ?? '';
    return {
      text: `${path}${line !== null ? `:${line}` : ''}${commit ? ` (${commit.slice(0, 7)})` : ''}`,
      key: `${type}:${cap(commit, 64)}:${cap(path, 200)}:${line ?? ''}`,
    };
  }
  // issue_title, issue_comment, pull_request_review_comment, discussion_body, …: an API URL names the place.
  const url = Object.entries(details).find(([k, v]) => k.endsWith('_url') && typeof v === 'string')?.[1] as
    | string
    | undefined;
  const n = url ? /\/(\d+)$/.exec(url)?.[1] : undefined;
  return { text: `${type.replace(/_/g, ' ')}${n ? ` ${n}` : ''}`, key: `${type}:${cap(url ?? '', 300)}` };
}

/**
 * An alert GitHub sent without its secret: an incident keyed by the alert (its hint names the alert, there is no
 * key), with the same alert card as any incident (incidentCard says the key is unknown), posted in the policy's
 * leak channels; a later event of the alert updates that card.
 */
async function reportGithubAlert(
  s: Services,
  a: { kind: SecretKind; alertKey: string; number: number; sighting: Omit<LeakSighting, 'incidentId'> },
): Promise<ReportOutcome> {
  const out = await s.store.leaks.recordSighting(
    {
      fingerprint: `${GITHUB_ALERT_FINGERPRINT}${a.alertKey}`,
      hint: `GitHub alert #${a.number}`,
      kind: a.kind,
      apiKeyId: null,
      apiKeyName: null,
      workspaceId: null,
    },
    a.sighting,
  );
  if (out.created) await postCard(s, out.incident, {}, null);
  else if (!out.duplicate && out.incident.card) await refreshCard(s, out.incident.id);
  return out;
}

// ---- gitleaks / trufflehog

/** The most Anthropic findings one report may carry (each is a database write and maybe an alert). */
export const MAX_REPORT_FINDINGS = 1000;

interface Finding {
  tool: 'gitleaks' | 'trufflehog';
  /** Anthropic by the tool's own rule or detector name. */
  anthropicRule: boolean;
  /** Where the secret may be: the tool's secret field first, then its match. */
  texts: string[];
  file: string | null;
  line: number | null;
  commit: string | null;
  repository: string | null;
  url: string | null;
  actor: string | null;
}

/** Handles an authenticated report. */
export async function handleLeakReport(s: Services, body: string): Promise<WebhookAnswer> {
  const log = s.logger.child({ webhook: 'leaks' });
  const parsed = parseReport(body);
  if ('error' in parsed) return { status: 400, body: { error: 'bad_request', message: parsed.error } };
  const findings: { f: Finding; secret: string; kind: SecretKind }[] = [];
  let ignored = 0;
  let redacted = 0;
  for (const f of parsed.findings) {
    const found = anthropicSecret(f.texts);
    if (found) findings.push({ f, ...found });
    else if (f.anthropicRule) redacted++;
    else ignored++;
  }
  if (findings.length > MAX_REPORT_FINDINGS) {
    return {
      status: 413,
      body: {
        error: 'too_many_findings',
        message: `The report has ${findings.length} Anthropic findings; send at most ${MAX_REPORT_FINDINGS} per request.`,
      },
    };
  }
  const key = findings.length ? await s.store.leaks.serverSecret(FINGERPRINT_SECRET) : '';
  const incidents = new Set<string>();
  let created = 0;
  let duplicates = 0;
  for (const { f, secret, kind } of findings) {
    const digest = s.hasher.hmacSha256Hex(key, secret).slice(0, 16);
    const place = f.file ? `${f.file}${f.line !== null ? `:${f.line}` : ''}` : null;
    const location = [f.repository, place, f.commit ? `(${f.commit.slice(0, 7)})` : null].filter(Boolean).join(' ');
    const outcome = await reportSecret(s, {
      secret,
      kind,
      sighting: {
        source: f.tool,
        sourceKey: `${f.tool}:${cap(f.repository ?? '', 200)}:${cap(f.commit ?? '', 64)}:${cap(f.file ?? '', 300)}:${f.line ?? ''}:${digest}`,
        location: cap(location || `a ${f.tool} report`, 300),
        url: f.url,
        actor: f.actor ? cap(f.actor, 200) : null,
        seenAt: s.clock.now(),
      },
    });
    incidents.add(outcome.incident.id);
    if (outcome.created) created++;
    if (outcome.duplicate) duplicates++;
  }
  const answer = {
    received: parsed.findings.length,
    anthropic: findings.length,
    ignored,
    ...(redacted ? { redacted } : {}),
    created,
    duplicates,
    incidents: [...incidents],
    ...(redacted
      ? {
          note: 'Some findings of an Anthropic rule had their secret redacted: without it the key cannot be matched. Send the report without --redact (the secret is fingerprinted, never stored).',
        }
      : {}),
  };
  log.info(
    {
      received: answer.received,
      anthropic: answer.anthropic,
      ignored,
      redacted,
      created,
      duplicates,
      incidents: answer.incidents,
    },
    'leak report received',
  );
  return { status: 200, body: answer };
}

function parseReport(body: string): { findings: Finding[] } | { error: string } {
  const text = body.trim();
  if (!text) return { error: 'The body is empty: send a gitleaks JSON report or trufflehog JSON lines.' };
  let items: unknown[];
  const whole = parseJson(text, true);
  if (Array.isArray(whole)) items = whole;
  else if (whole !== undefined && obj(whole)) items = [whole];
  else {
    // trufflehog --json: one result per line.
    items = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      const item = parseJson(line, true);
      if (item === undefined || !obj(item)) {
        return { error: `Line ${i + 1} is not a JSON object: send a gitleaks JSON report or trufflehog JSON lines.` };
      }
      items.push(item);
    }
  }
  const findings: Finding[] = [];
  for (let i = 0; i < items.length; i++) {
    const f = toFinding(items[i]);
    if (!f) {
      return {
        error: `Finding ${i + 1} is neither a gitleaks finding (RuleID) nor a trufflehog result (DetectorName).`,
      };
    }
    findings.push(f);
  }
  return { findings };
}

function toFinding(item: unknown): Finding | null {
  const o = obj(item);
  if (!o) return null;
  const ruleId = str(o.RuleID);
  if (ruleId !== null) {
    const author = str(o.Author);
    const email = str(o.Email);
    return {
      tool: 'gitleaks',
      anthropicRule: /anthropic/i.test(ruleId),
      texts: [str(o.Secret), str(o.Match)].filter((x): x is string => Boolean(x)),
      file: str(o.File) || null,
      line: num(o.StartLine),
      commit: str(o.Commit) || null,
      repository: null,
      url: httpUrl(o.Link),
      actor: email || author || null,
    };
  }
  const detector = str(o.DetectorName);
  if (detector !== null || obj(o.SourceMetadata)) {
    // SourceMetadata.Data has one entry named after the source (Git, Github, Gitlab, Filesystem, …).
    const data = obj(obj(o.SourceMetadata)?.Data);
    const source = data ? (Object.values(data).map(obj).find(Boolean) ?? null) : null;
    return {
      tool: 'trufflehog',
      anthropicRule: /anthropic/i.test(detector ?? ''),
      texts: [str(o.Raw), str(o.RawV2)].filter((x): x is string => Boolean(x)),
      file: (source && (str(source.file) || str(source.path))) || null,
      line: source ? num(source.line) : null,
      commit: (source && str(source.commit)) || null,
      repository: (source && repoName(str(source.repository))) || null,
      url: source ? httpUrl(source.link) : null,
      actor: (source && (str(source.email) || str(source.username))) || null,
    };
  }
  return null;
}

/** The first Anthropic secret in the texts: a whole text that is one, else a token starting with the prefix. */
function anthropicSecret(texts: string[]): { secret: string; kind: SecretKind } | null {
  for (const t of texts) {
    const whole = t.trim();
    const kind = whole.startsWith(SECRET_PREFIX) ? classifySecret(whole) : null;
    if (kind) return { secret: whole, kind };
  }
  for (const t of texts) {
    let i = t.indexOf(SECRET_PREFIX);
    while (i !== -1) {
      let end = i + SECRET_PREFIX.length;
      while (end < t.length && isTokenChar(t.charCodeAt(end))) end++;
      if (i === 0 || !isTokenChar(t.charCodeAt(i - 1))) {
        const token = t.slice(i, end);
        const kind = classifySecret(token);
        if (kind) return { secret: token, kind };
      }
      i = t.indexOf(SECRET_PREFIX, end);
    }
  }
  return null;
}

/** `https://github.com/org/repo.git` → `org/repo`; other values as given (capped). */
function repoName(v: string | null): string | null {
  if (!v) return null;
  const m = /^(?:https?:\/\/|git@)[^/:]+[/:]([^?#]+?)(?:\.git)?\/?$/.exec(v);
  return cap(m ? m[1]! : v, 200);
}

// ---- small readers (payloads are untrusted JSON)

/** JSON.parse without its error (V8's message quotes the input, which may hold a secret). */
function parseJson(text: string): Record<string, unknown> | null;
function parseJson(text: string, any: true): unknown;
function parseJson(text: string, any?: true): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return any ? v : obj(v);
  } catch {
    return any ? undefined : null;
  }
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

function login(v: unknown): string | null {
  const l = str(obj(v)?.login);
  return l ? cap(l, 100) : null;
}

function httpUrl(v: unknown): string | null {
  const u = str(v);
  return u && /^https?:\/\/\S+$/.test(u) && u.length <= 500 ? u : null;
}

/** A header or payload word fit to repeat in an answer or a log line. */
function safeWord(v: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? v : '(unrecognized)';
}

function cap(v: string, n: number): string {
  return v.length <= n ? v : `${v.slice(0, n - 1)}…`;
}
