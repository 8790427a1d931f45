/**
 * One scrub for every line Quartermaster writes out, log lines and CLI output alike: key- and token-shaped text,
 * URL credentials (`scheme://user:password@host`, a password holding `@` included, and `?password=` /
 * `&sslpassword=` query parameters), and the exact configured secret values.
 */
import { REDACTED, redactSecrets } from '../core/secrets.js';

/**
 * The password of a URL with credentials, wherever a URL is written out. The userinfo runs to the *last* `@`
 * before the host (as URL parsers read it), so a password holding `@` is redacted whole. The user name stays.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#"'`]*:)[^\s/?#"'`]*@(?=[^\s@/?#"'`]*(?:[\s/?#"'`]|$))/gi;
/** Connection-string query parameters that carry a password (libpq and node-postgres read both). */
const QUERY_PASSWORD = /([?&;](?:password|sslpassword)=)[^\s&#"'`]*/gi;

/** Configured secrets at least this long are scrubbed wherever they appear. */
const MIN_BARE_SECRET = 6;

export function createScrubber(secrets: readonly (string | undefined)[] = []): (text: string) => string {
  const configured = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  // A short secret (a 4-character database password) scrubbed everywhere would mangle ordinary words in every
  // line, so it is scrubbed only where it stands as a credential: as a URL's password or a password parameter
  // (the patterns above already cover both positions; here for the exact value in looser forms, e.g. `:pw@`).
  const bare = configured
    .filter((s) => s.length >= MIN_BARE_SECRET)
    // Lines may be JSON, where a secret with `"`, `\` or control characters appears escaped.
    .flatMap((s) => [...new Set([JSON.stringify(s).slice(1, -1), s])])
    // Longest first, so a secret containing another is removed whole.
    .sort((a, b) => b.length - a.length);
  const short = configured.filter((s) => s.length < MIN_BARE_SECRET);
  return (text: string) => {
    let out = redactSecrets(text).replace(URL_CREDENTIALS, `$1${REDACTED}@`).replace(QUERY_PASSWORD, `$1${REDACTED}`);
    for (const secret of bare) out = out.split(secret).join(REDACTED);
    for (const secret of short) {
      out = out.split(`:${secret}@`).join(`:${REDACTED}@`).split(`password=${secret}`).join(`password=${REDACTED}`);
    }
    return out;
  };
}
