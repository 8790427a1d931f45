/**
 * Answers on a response_url (what a slash command or a button click carries) with one small HTTP POST: what
 * Bolt's `respond()` does, through node:http(s) and a keep-alive agent instead of the global fetch. On Node 20 every
 * fetch builds and tees web streams and registers its response for finalization, about a quarter of the memory a
 * `/qm whoami` allocated and kept past a garbage collection under load (npm run bench: CPU per command and the ack
 * p99 both move with it). The contract is Bolt's: a JSON body; an answer other than 2xx throws (its status in the
 * error); the answer's body is read and dropped.
 */
import { Agent, type Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Slack answers a response_url at once; a POST that hangs longer than this is given up. */
export const RESPONSE_URL_TIMEOUT_MS = 15_000;

export class ResponseUrlError extends Error {
  constructor(
    message: string,
    /** The HTTP status Slack answered with; null when no answer came. */
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ResponseUrlError';
  }
}

export class ResponseUrlClient {
  private readonly http: HttpAgent = new Agent({ keepAlive: true });
  private readonly https: HttpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(private readonly timeoutMs = RESPONSE_URL_TIMEOUT_MS) {}

  post(url: string, message: object): Promise<void> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(new ResponseUrlError('The response_url is not a URL.', null));
    }
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:')
      return Promise.reject(new ResponseUrlError('The response_url is not an http(s) URL.', null));
    const body = JSON.stringify(message);
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.timeoutMs,
        },
        (res) => {
          res.resume();
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else
              reject(
                new ResponseUrlError(
                  `Failed to respond to the response_url: ${status} ${res.statusMessage ?? ''}`.trim(),
                  status,
                ),
              );
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new ResponseUrlError(`The response_url did not answer within ${this.timeoutMs / 1000} s.`, null)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Closes the kept-alive connections that are idle; an answer still in flight is delivered (the adapter stops
   * before the commands in progress are drained: destroying its socket lost the answer to a command already carried out)
   * and its connection closed once the answer is read. Later answers go out without keep-alive.
   */
  close(): void {
    for (const agent of [this.http, this.https]) {
      // Read by the agent when a request ends: false closes the socket instead of keeping it for the next one.
      (agent as unknown as { keepAlive: boolean }).keepAlive = false;
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }
}
