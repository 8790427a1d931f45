/**
 * Secret fields censored by name in every log line, before it is serialized (then the finished line is scrubbed
 * of secret-shaped and configured secret text as well; see logger.ts):
 *
 * - a field named like a secret (SECRET_FIELDS), at the top of the logged object or one level down;
 * - the `x-api-key`, `x-slack-signature` and `authorization` headers of a `headers` object at the top or one
 *   level down.
 *
 * This is what pino's `redact` option did with the equivalent path list, at a fraction of the cost: its
 * implementation (@pinojs/redact) parses every path string again on every log call, about 30 KB of garbage per
 * line, the largest single source of allocation of a command under load (npm run bench). The logged object is
 * never modified: what needs censoring is copied, the rest shared.
 */
export const SECRET_FIELDS = [
  'adminKey',
  'apiKey',
  'token',
  'botToken',
  'appToken',
  'adminUserToken',
  'signingSecret',
  'clientSecret',
  'stateSecret',
  'password',
  'secret',
  'authorization',
] as const;

export const CENSORED = '[REDACTED]';

const SECRET = new Set<string>(SECRET_FIELDS);
const SECRET_HEADERS = new Set(['x-api-key', 'x-slack-signature', 'authorization']);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A copy with the same prototype; an Error keeps its message, stack and cause (not enumerable, but logged). */
function shallowCopy(obj: Obj): Obj {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(obj) as object | null) as Obj, obj);
  if (obj instanceof Error) {
    for (const k of ['name', 'message', 'stack', 'cause'] as const) {
      if (Object.hasOwn(obj, k)) Object.defineProperty(copy, k, { value: obj[k], writable: true, configurable: true });
    }
  }
  return copy;
}

/** `obj` with the fields `censorField` picks replaced; `obj` itself when none is. */
function censorFields(obj: Obj, pick: (key: string, value: unknown) => unknown): Obj {
  let out: Obj | null = null;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    const next = pick(key, value);
    if (next === value) continue;
    out ??= shallowCopy(obj);
    out[key] = next;
  }
  return out ?? obj;
}

const censorHeaders = (headers: unknown): unknown =>
  isObject(headers) ? censorFields(headers, (k, v) => (SECRET_HEADERS.has(k.toLowerCase()) ? CENSORED : v)) : headers;

/** One level down: secret fields, and the secret headers of a `headers` object. */
const censorNested = (value: unknown): unknown =>
  isObject(value)
    ? censorFields(value, (k, v) => (SECRET.has(k) ? CENSORED : k === 'headers' ? censorHeaders(v) : v))
    : value;

export function censorSecrets(obj: Obj): Obj {
  return censorFields(obj, (k, v) =>
    SECRET.has(k) ? CENSORED : k === 'headers' ? censorNested(censorHeaders(v)) : censorNested(v),
  );
}
