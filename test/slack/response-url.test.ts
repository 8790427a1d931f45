/**
 * Answers on a response_url go out as one JSON POST per answer over a kept-alive connection (src/slack/response-url.ts,
 * in place of Bolt's fetch-based respond()); a refusal or a silence from Slack is an error the dispatcher reports.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponseUrlClient, ResponseUrlError } from '../../src/slack/response-url.js';

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
  socket: unknown;
}

let server: Server | null = null;
let client: ResponseUrlClient | null = null;
afterEach(async () => {
  client?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});

async function slack(answer: (req: IncomingMessage) => { status: number; body?: string } | null) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(text),
        socket: req.socket,
      });
      const a = answer(req);
      if (!a) return; // never answers
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body ?? 'ok');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/commands/T1/123/abc`;
  return { seen, url };
}

describe('ResponseUrlClient', () => {
  it('POSTs the message as JSON, one request per answer, over one kept-alive connection', async () => {
    const { seen, url } = await slack(() => ({ status: 200 }));
    client = new ResponseUrlClient();
    await client.post(url, { response_type: 'ephemeral', text: 'first' });
    await client.post(url, { response_type: 'in_channel', text: 'second' });
    expect(seen.map((s) => [s.method, s.path, s.contentType])).toEqual([
      ['POST', '/commands/T1/123/abc', 'application/json'],
      ['POST', '/commands/T1/123/abc', 'application/json'],
    ]);
    expect(seen.map((s) => s.body)).toEqual([
      { response_type: 'ephemeral', text: 'first' },
      { response_type: 'in_channel', text: 'second' },
    ]);
    expect(seen[1]!.socket).toBe(seen[0]!.socket);
  });

  it('throws with the status when Slack refuses the answer (an expired response_url: 404)', async () => {
    const { url } = await slack(() => ({ status: 404, body: 'expired_url' }));
    client = new ResponseUrlClient();
    const err = await client.post(url, { text: 'late' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseUrlError);
    expect(err).toMatchObject({ status: 404, message: 'Failed to respond to the response_url: 404 Not Found' });
  });

  it('gives up on a response_url that never answers', async () => {
    const { url } = await slack(() => null);
    client = new ResponseUrlClient(200);
    const err = await client.post(url, { text: 'hello?' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ResponseUrlError', status: null });
    expect((err as Error).message).toContain('did not answer');
  });

  it('an answer in flight when the adapter stops is still delivered (the bot drains commands after stopping it)', async () => {
    let answer: (() => void) | null = null;
    const { seen, url } = await slack(() => null);
    server!.removeAllListeners('request');
    server!.on('request', (req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        seen.push({ method: req.method ?? '', path: '', contentType: undefined, body: null, socket: req.socket });
        answer = () => res.writeHead(200).end('ok');
      });
    });
    client = new ResponseUrlClient();
    const sent = client.post(url, { text: 'your new key: …' });
    while (!answer) await new Promise((r) => setTimeout(r, 5));
    client.close();
    (answer as () => void)();
    await expect(sent).resolves.toBeUndefined();
    // Nothing is kept alive past close(): the connection ends once the answer is read.
    await new Promise((r) => setTimeout(r, 50));
    const open = await new Promise<number>((r) => server!.getConnections((_e, n) => r(n)));
    expect(open).toBe(0);
  });

  it('refuses what is not an http(s) URL without sending anything', async () => {
    client = new ResponseUrlClient();
    await expect(client.post('file:///etc/passwd', {})).rejects.toThrow('not an http(s) URL');
    await expect(client.post('not a url', {})).rejects.toThrow('not a URL');
  });
});
