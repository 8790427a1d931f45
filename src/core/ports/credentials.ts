/**
 * The outcome of checking one credential with the service that issued it (Slack auth.test, Discord /users/@me,
 * the Admin API). `rejected`: the service answered and refused the credential (start-up stops, exit 78);
 * `unreachable`: no usable answer (network, DNS, 5xx), so Quartermaster serves on and retries. `detail` is one
 * sentence naming the variable, never its value.
 */
export type CredentialCheck =
  | { status: 'ok'; detail: string }
  | { status: 'rejected'; detail: string }
  | { status: 'unreachable'; detail: string };

/** "connection refused", "host not found (slack.example)": the reason without a stack trace. */
export function networkReason(err: unknown): string {
  let e = err as { code?: string; message?: string; cause?: unknown; hostname?: string } | undefined;
  // fetch wraps the socket error: TypeError('fetch failed', { cause }).
  if ((e as { name?: string } | undefined)?.name === 'TimeoutError') return 'timed out';
  while (e?.cause && !e.code) e = e.cause as typeof e;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found${e.hostname ? ` (${e.hostname})` : ''}`;
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return e?.message ?? String(err);
  }
}
