import type { AdminApiError } from './ports/admin-api.js';

/**
 * A plain-English explanation of an Admin API failure for the chat user who ran the command. Never includes the
 * admin key (AdminApiError never carries it); includes the request id when there is one so an operator can quote
 * it to Anthropic support.
 */
export function describeAdminApiError(e: AdminApiError): string {
  const status = e.status === null ? '' : ` (${e.status})`;
  const tries = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
  const detail = e.apiMessage ? ` Anthropic said: "${e.apiMessage}".` : '';
  const requestId = e.requestId ? ` Request id: ${e.requestId}.` : '';
  let text: string;
  switch (e.kind) {
    case 'auth':
      text = `The Anthropic Admin API rejected Quartermaster's admin key${status}. An operator needs to check ANTHROPIC_ADMIN_KEY.`;
      break;
    case 'permission':
      text = `The Anthropic Admin API refused this action${status}: the admin key is not allowed to do it, or the API does not allow it at all (for example removing an admin or changing their role, which only the Console can do).${detail}`;
      break;
    case 'not_found':
      text = `Anthropic could not find that${status}; it may have been removed or the id is wrong.${detail}`;
      break;
    case 'conflict':
      text = `That conflicts with the current state in Anthropic${status}, for example it already exists or someone changed it at the same time.${detail}`;
      break;
    case 'invalid':
      text = `Anthropic rejected the request as invalid${status}.${detail}`;
      break;
    case 'rate_limited':
      text = `The Anthropic Admin API is rate limiting Quartermaster${status}${e.attempts > 1 ? `, even after ${e.attempts - 1} ${e.attempts - 1 === 1 ? 'retry' : 'retries'}` : ''}. Try again in a minute.`;
      break;
    case 'unavailable':
      text = `Anthropic's API is having trouble${status}${tries}. Try again in a few minutes (check status.anthropic.com if it persists); if this was a change, check whether it went through first.`;
      break;
    case 'timeout':
      text = `The Anthropic Admin API did not answer in time${tries}. If this was a change, check whether it went through before retrying.`;
      break;
    case 'network':
      text = `Quartermaster could not reach the Anthropic Admin API${tries} (a network or DNS problem, or a wrong ANTHROPIC_BASE_URL).`;
      break;
    default:
      text = `The Anthropic Admin API call failed${status}.${detail}`;
  }
  return text + requestId;
}
