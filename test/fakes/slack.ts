/**
 * A protocol-faithful local fake of the parts of Slack Quartermaster touches (from ../shared/recipes/slack):
 *  - the Web API: POST {base}/api/<method>, form or JSON bodies, Bearer token, always HTTP 200 with {ok,…}
 *    and Slack's error codes (not_authed, invalid_auth, user_not_found, channel_not_found);
 *  - response_url webhooks (POST {base}/respond/<id>);
 *  - the Slack → app direction: v0-signed slash commands, interactivity payloads and events.
 * users.info answers like Slack does for members, guests (is_restricted), Slack Connect users
 * (another team_id, is_stranger), unconfirmed emails, hidden emails (no users:read.email) and bots.
 * File uploads (files.uploadV2's three steps): files.getUploadURLExternal hands out an upload URL on the fake,
 * the bytes are POSTed there (raw or multipart), files.completeUploadExternal shares them; `files` holds the result.
 * People's messages (issue 11): `say`, `edit`, `shareSnippet` and `botSays` keep a message in `posted` and deliver
 * its signed Events API callback (event_callback: message, message_changed, file_share); files.info answers with a
 * snippet's content; chat.getPermalink links any known message; chat.delete deletes with an admin's user token
 * (ADMIN_USER_TOKEN) and refuses a bot token on anyone else's message (cant_delete_message), as Slack does.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { multipartBoundary, parseMultipart } from './multipart.js';

export interface ApiCall {
  /** The Web API method; `upload_url` for a POST of file bytes to an upload URL (args: file_id, bytes). */
  method: string;
  args: Record<string, any>;
  token?: string;
}

export interface FakeSlackUser {
  id: string;
  name: string;
  email?: string | null;
  teamId?: string;
  isRestricted?: boolean;
  isUltraRestricted?: boolean;
  isStranger?: boolean;
  isBot?: boolean;
  deleted?: boolean;
  emailConfirmed?: boolean;
}

/** A file shared by files.completeUploadExternal, with the bytes that were POSTed to its upload URL. */
export interface FakeSlackFile {
  id: string;
  /** As declared to files.getUploadURLExternal. */
  filename: string;
  length: number;
  /** alt_txt (Slack's documented name) or alt_text (what @slack/web-api sends). */
  altText: string | null;
  title: string;
  channel: string | null;
  threadTs: string | null;
  initialComment: string | null;
  data: Buffer;
  /** The Content-Type of the uploaded part (or of the raw POST). */
  contentType: string | null;
  token: string;
}

interface PendingUpload {
  id: string;
  key: string;
  filename: string;
  length: number;
  altText: string | null;
  token: string;
  data: Buffer | null;
  contentType: string | null;
  completed: boolean;
}

export const SIGNING_SECRET = 'slack-signing-secret-for-tests-0123456789';
export const BOT_TOKEN = 'xoxb-1111-2222-fake-bot-token';
export const FORM = 'application/x-www-form-urlencoded';
export const APP_TOKEN = 'xapp-1-A0QM-1234-fake-app-level-token';
/** OAuth: the code oauth.v2.access accepts, the workspace it installs, and that workspace's new bot token. */
export const OAUTH_GOOD_CODE = 'good-code';
export const INSTALLED_TEAM = { id: 'T0OTHER', domain: 'other' };
export const INSTALLED_BOT_TOKEN = 'xoxb-installed-3333-4444-fake-installed-bot-token';
/** A workspace admin's user token (SLACK_ADMIN_USER_TOKEN): chat.delete may delete anyone's message with it. */
export const ADMIN_USER_TOKEN = 'xoxp-5555-6666-7777-fake-admin-user-token';

/** A message a person (or another app) posted, as Slack keeps it; `deleted` once chat.delete removed it. */
export interface PostedMessage {
  channel: string;
  ts: string;
  user: string | null;
  botId: string | null;
  text: string;
  threadTs: string | null;
  blocks?: any[];
  attachments?: any[];
  files: FakeSnippet[];
  deleted: boolean;
}

/** A snippet (or text file) shared in a message; files.info returns its content. */
export interface FakeSnippet {
  id: string;
  title: string;
  content: string;
  filetype: string;
  mode: 'snippet' | 'hosted';
  user: string;
}

export class FakeSlack {
  server!: Server;
  base = '';
  calls: ApiCall[] = [];
  responses: { id: string; body: any; at: number }[] = [];
  users = new Map<string, FakeSlackUser>();
  validTokens = new Set<string>([BOT_TOKEN, APP_TOKEN, ADMIN_USER_TOKEN]);
  /** User tokens of workspace admins: chat.delete deletes anyone's message with them. */
  adminUserTokens = new Set<string>([ADMIN_USER_TOKEN]);
  /** People's messages delivered to the app as events (say, edit, shareSnippet, botSays), by ts. */
  posted = new Map<string, PostedMessage>();
  /** Every Events API callback delivered, with the HTTP status the app answered. */
  events: { body: any; status: number }[] = [];
  /** Socket Mode: the app's open connections and every frame it sent (acks carry the envelope_id). */
  sockets: WebSocket[] = [];
  /** Messages the bot posted with chat.postMessage, kept current by chat.update. */
  messages = new Map<string, FakeSlackMessage>();
  /** Channels where chat.postMessage answers not_in_channel. */
  channelsWithoutBot = new Set<string>();
  socketFrames: any[] = [];
  /** OAuth: the app's client id and secret that oauth.v2.access accepts (as Slack checks them). */
  oauthClient = { id: '', secret: '' };
  /** Which workspace each bot token belongs to (auth.test answers with it); others belong to `team`. */
  tokenTeams = new Map<string, { id: string; domain: string }>();
  /** Files shared by files.completeUploadExternal, in order. */
  files: FakeSlackFile[] = [];
  /** When set, files.getUploadURLExternal answers missing_scope (a token installed without files:write). */
  filesWriteMissing = false;
  private uploads = new Map<string, PendingUpload>();
  private wss!: WebSocketServer;
  private seq = 0;

  constructor(readonly team = { id: 'T0QM', domain: 'acme' }) {}

  get apiUrl(): string {
    return `${this.base}/api/`;
  }

  addUser(u: FakeSlackUser): this {
    this.users.set(u.id, u);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const raw = await readBody(req);
      const url = new URL(req.url!, 'http://x');
      const send = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname.startsWith('/respond/')) {
        this.responses.push({ id: url.pathname.slice(9), body: JSON.parse(raw.toString()), at: Date.now() });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      const up = /^\/upload\/v1\/([\w-]+)$/.exec(url.pathname);
      if (up) {
        const [status, text] = this.receiveUpload(up[1]!, req.method ?? 'GET', req.headers['content-type'], raw);
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(text);
        return;
      }
      const m = /^\/api\/([\w.]+)$/.exec(url.pathname);
      if (!m || req.method !== 'POST') {
        res.writeHead(404);
        res.end();
        return;
      }
      const ct = (req.headers['content-type'] ?? '').split(';')[0];
      const args: Record<string, any> =
        ct === 'application/json'
          ? raw.length
            ? JSON.parse(raw.toString())
            : {}
          : Object.fromEntries(new URLSearchParams(raw.toString()));
      for (const k of ['blocks', 'attachments', 'view']) {
        if (typeof args[k] === 'string') {
          try {
            args[k] = JSON.parse(args[k]);
          } catch {
            /* Slack would reject it; keep the raw value so a test can see it */
          }
        }
      }
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : args.token;
      const method = m[1]!;
      this.calls.push({ method, args, token });
      // oauth.v2.access authenticates with the client id and secret (form fields or HTTP Basic), not a token.
      if (method === 'oauth.v2.access') return send(this.oauthAccess(args, auth));
      if (!token) return send({ ok: false, error: 'not_authed' });
      if (!this.validTokens.has(token)) return send({ ok: false, error: 'invalid_auth' });
      send(this.handle(method, args, token));
    });
    // Socket Mode: apps.connections.open hands out ws://…/link; Slack greets with `hello`.
    this.wss = new WebSocketServer({ server: this.server, path: '/link' });
    this.wss.on('connection', (ws) => {
      this.sockets.push(ws);
      ws.on('message', (d) => this.socketFrames.push(JSON.parse(d.toString())));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'fake', approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0QM' },
        }),
      );
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Deliver a slash command over Socket Mode and wait for the app's ack of that envelope. */
  async socketCommand(text: string, user: string, team = this.team): Promise<{ ack: any; reply: any }> {
    const ws = await waitFor(() => this.sockets.find((s) => s.readyState === 1));
    const responseId = randomBytes(6).toString('hex');
    const envelopeId = `env-${responseId}`;
    const payload = Object.fromEntries(
      new URLSearchParams(this.slashCommandBody(text, user, responseId, undefined, team)),
    );
    ws.send(
      JSON.stringify({ envelope_id: envelopeId, type: 'slash_commands', payload, accepts_response_payload: true }),
    );
    const ack = await waitFor(() => this.socketFrames.find((f) => f.envelope_id === envelopeId));
    const reply = await waitFor(() => this.responses.find((r) => r.id === responseId)?.body, 10_000);
    return { ack, reply };
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss?.close();
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** oauth.v2.access: a good code, from the right client, installs the bot in INSTALLED_TEAM. */
  private oauthAccess(a: Record<string, any>, auth: string | undefined): unknown {
    let [id, secret] = [a.client_id, a.client_secret];
    if (auth?.startsWith('Basic ')) [id, secret] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    if (!id || id !== this.oauthClient.id) return { ok: false, error: 'invalid_client_id' };
    if (secret !== this.oauthClient.secret) return { ok: false, error: 'bad_client_secret' };
    if (a.code !== OAUTH_GOOD_CODE) return { ok: false, error: 'invalid_code' };
    this.validTokens.add(INSTALLED_BOT_TOKEN);
    this.tokenTeams.set(INSTALLED_BOT_TOKEN, INSTALLED_TEAM);
    return {
      ok: true,
      app_id: 'A0QM',
      authed_user: { id: 'UINSTALLER' },
      scope:
        'commands,chat:write,users:read,users:read.email,im:write,files:write,channels:history,groups:history,im:history,files:read',
      token_type: 'bot',
      access_token: INSTALLED_BOT_TOKEN,
      bot_user_id: 'UQMBOT2',
      team: { id: INSTALLED_TEAM.id, name: 'Other' },
      enterprise: null,
      is_enterprise_install: false,
    };
  }

  private handle(method: string, a: Record<string, any>, token: string): unknown {
    switch (method) {
      case 'auth.test': {
        const team = this.tokenTeams.get(token) ?? this.team;
        return {
          ok: true,
          url: `https://${team.domain}.slack.com/`,
          team: team === this.team ? 'Acme' : 'Other',
          user: 'quartermaster',
          team_id: team.id,
          user_id: team === this.team ? 'UQMBOT' : 'UQMBOT2',
          bot_id: team === this.team ? 'BQMBOT' : 'BQMBOT2',
          is_enterprise_install: false,
        };
      }
      case 'users.info': {
        const u = this.users.get(a.user);
        if (!u) return { ok: false, error: 'user_not_found' };
        const profile: Record<string, unknown> = { display_name: u.name, real_name: u.name };
        if (u.email) profile.email = u.email;
        return {
          ok: true,
          user: {
            id: u.id,
            team_id: u.teamId ?? this.team.id,
            name: u.name,
            real_name: u.name,
            deleted: u.deleted ?? false,
            is_bot: u.isBot ?? false,
            is_app_user: false,
            is_restricted: u.isRestricted ?? false,
            is_ultra_restricted: u.isUltraRestricted ?? false,
            ...(u.isStranger ? { is_stranger: true } : {}),
            is_email_confirmed: u.emailConfirmed ?? true,
            profile,
          },
        };
      }
      case 'chat.postMessage': {
        if (!a.channel) return { ok: false, error: 'channel_not_found' };
        // A channel the bot was never invited to, as Slack answers it.
        if (this.channelsWithoutBot.has(a.channel)) return { ok: false, error: 'not_in_channel' };
        const ts = this.ts();
        this.messages.set(ts, { channel: a.channel, ts, text: a.text ?? '', blocks: a.blocks ?? [], history: [] });
        return {
          ok: true,
          channel: a.channel,
          ts,
          message: { type: 'message', text: a.text ?? '', blocks: a.blocks, ts },
        };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.ts() };
      case 'chat.update': {
        const m = this.messages.get(a.ts);
        if (!m || m.channel !== a.channel) return { ok: false, error: 'message_not_found' };
        m.history.push({ text: m.text, blocks: m.blocks });
        m.text = a.text ?? '';
        m.blocks = a.blocks ?? [];
        return { ok: true, channel: a.channel, ts: a.ts, text: m.text };
      }
      case 'files.info': {
        const f = [...this.posted.values()].flatMap((m) => m.files).find((x) => x.id === a.file);
        if (!f) return { ok: false, error: 'file_not_found' };
        return {
          ok: true,
          file: this.fileObject(f),
          content: f.content,
          is_truncated: false,
          comments: [],
          response_metadata: { next_cursor: '' },
        };
      }
      case 'chat.getPermalink': {
        const known = this.posted.get(a.message_ts) ?? this.messages.get(a.message_ts);
        if (!a.channel || (known && known.channel !== a.channel)) return { ok: false, error: 'channel_not_found' };
        if (!known) return { ok: false, error: 'message_not_found' };
        const threadTs = 'threadTs' in known ? known.threadTs : null;
        const p = `https://${this.team.domain}.slack.com/archives/${a.channel}/p${String(a.message_ts).replace('.', '')}`;
        return {
          ok: true,
          channel: a.channel,
          permalink: threadTs ? `${p}?thread_ts=${threadTs}&cid=${a.channel}` : p,
        };
      }
      case 'chat.delete': {
        const own = this.messages.get(a.ts);
        const theirs = this.posted.get(a.ts);
        const m = own ?? theirs;
        if (!m || m.channel !== a.channel || (theirs?.deleted ?? false))
          return { ok: false, error: 'message_not_found' };
        // A bot deletes only its own messages; a user token deletes its own, or anyone's when it is an admin's.
        const mayDelete = own
          ? !token.startsWith('xoxp-') || this.adminUserTokens.has(token)
          : this.adminUserTokens.has(token);
        if (!mayDelete) return { ok: false, error: 'cant_delete_message' };
        if (own) this.messages.delete(a.ts);
        if (theirs) theirs.deleted = true;
        return { ok: true, channel: a.channel, ts: a.ts };
      }
      case 'files.getUploadURLExternal':
        return this.getUploadURLExternal(a, token);
      case 'files.completeUploadExternal':
        return this.completeUploadExternal(a, token);
      case 'apps.connections.open':
        return { ok: true, url: `${this.base.replace('http', 'ws')}/link?ticket=${randomBytes(4).toString('hex')}` };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(a.users).replace(/\W/g, '')}` } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** Files shared in one channel, in order. */
  filesIn(channel: string): FakeSlackFile[] {
    return this.files.filter((f) => f.channel === channel);
  }

  /** files.getUploadURLExternal: filename and length (bytes) required, as Slack checks them. */
  private getUploadURLExternal(a: Record<string, any>, token: string): unknown {
    if (this.filesWriteMissing) {
      return { ok: false, error: 'missing_scope', needed: 'files:write', provided: 'commands,chat:write' };
    }
    const filename = typeof a.filename === 'string' ? a.filename : '';
    const length = Number(a.length);
    if (!filename || a.length === undefined || a.length === '' || !Number.isInteger(length) || length < 0) {
      return { ok: false, error: 'invalid_arguments' };
    }
    // Slack's documented answer to a length of 0.
    if (length === 0) return { ok: false, error: 'missing_argument' };
    if (length > 1024 ** 3) return { ok: false, error: 'file_upload_size_restricted' };
    const altText = a.alt_txt ?? a.alt_text ?? null;
    if (typeof altText === 'string' && altText.length > 1000) return { ok: false, error: 'alt_txt_too_large' };
    const id = `F${String(++this.seq).padStart(9, '0')}`;
    const key = randomBytes(12).toString('hex');
    this.uploads.set(key, {
      id,
      key,
      filename,
      length,
      altText,
      token,
      data: null,
      contentType: null,
      completed: false,
    });
    return { ok: true, upload_url: `${this.base}/upload/v1/${key}`, file_id: id };
  }

  /** The upload URL: raw bytes or multipart/form-data with one file part; Slack answers `OK - <bytes>`. */
  private receiveUpload(key: string, method: string, contentType: string | undefined, raw: Buffer): [number, string] {
    const u = this.uploads.get(key);
    if (!u) return [404, 'Not Found'];
    if (method !== 'POST') return [405, 'Method Not Allowed'];
    let data = raw;
    let type = contentType ?? null;
    const boundary = multipartBoundary(contentType);
    if (boundary) {
      try {
        const part = parseMultipart(raw, boundary).find((p) => p.filename !== undefined);
        if (!part) return [400, 'no file in the form'];
        data = part.data;
        type = part.contentType ?? null;
      } catch (err) {
        return [400, (err as Error).message];
      }
    }
    u.data = Buffer.from(data);
    u.contentType = type;
    this.calls.push({ method: 'upload_url', args: { file_id: u.id, bytes: data.length } });
    return [200, `OK - ${data.length}`];
  }

  /** files.completeUploadExternal: shares uploaded files in channel_id (a thread with thread_ts). */
  private completeUploadExternal(a: Record<string, any>, token: string): unknown {
    let list: unknown = a.files;
    if (typeof list === 'string') {
      try {
        list = JSON.parse(list);
      } catch {
        return { ok: false, error: 'invalid_arguments' };
      }
    }
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f?.id !== 'string')) {
      return { ok: false, error: 'invalid_arguments' };
    }
    const channel: string | null = a.channel_id || null;
    if (a.thread_ts && !channel) return { ok: false, error: 'invalid_arguments' };
    if (channel && this.channelsWithoutBot.has(channel)) return { ok: false, error: 'not_in_channel' };
    const found = list.map((f: { id: string; title?: string }) => {
      const u = [...this.uploads.values()].find((x) => x.id === f.id && x.token === token);
      return { f, u };
    });
    // An id never handed out (or handed to another token), one whose bytes never arrived, or one already completed.
    if (found.some(({ u }) => !u?.data || u.completed)) return { ok: false, error: 'file_not_found' };
    const shared = found.map(({ f, u }) => {
      u!.completed = true;
      const file: FakeSlackFile = {
        id: u!.id,
        filename: u!.filename,
        length: u!.length,
        altText: u!.altText,
        title: f.title ?? u!.filename,
        channel,
        threadTs: a.thread_ts ?? null,
        initialComment: a.initial_comment ?? null,
        data: u!.data!,
        contentType: u!.contentType,
        token,
      };
      this.files.push(file);
      return file;
    });
    return {
      ok: true,
      files: shared.map((f) => ({
        id: f.id,
        name: f.filename,
        title: f.title,
        size: f.data.length,
        ...(f.altText ? { alt_txt: f.altText } : {}),
        // Slack fills shares in asynchronously; the answer usually has none yet.
        shares: {},
        channels: [],
      })),
    };
  }

  private ts(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`;
  }

  private fileObject(f: FakeSnippet): Record<string, unknown> {
    const size = Buffer.byteLength(f.content);
    return {
      id: f.id,
      created: Math.floor(Date.now() / 1000),
      timestamp: Math.floor(Date.now() / 1000),
      name: f.mode === 'snippet' ? '-.txt' : `${f.title}.txt`,
      title: f.title,
      mimetype: 'text/plain',
      filetype: f.filetype,
      pretty_type: f.filetype === 'text' ? 'Plain Text' : f.filetype,
      user: f.user,
      user_team: this.team.id,
      editable: f.mode === 'snippet',
      size,
      mode: f.mode,
      is_external: false,
      external_type: '',
      is_public: true,
      public_url_shared: false,
      display_as_bot: false,
      username: '',
      url_private: `${this.base}/files-pri/${this.team.id}-${f.id}/-.txt`,
      url_private_download: `${this.base}/files-pri/${this.team.id}-${f.id}/download/-.txt`,
      permalink: `https://${this.team.domain}.slack.com/files/${f.user}/${f.id}/-.txt`,
      // Slack shows the first lines; the whole text comes only from files.info (or the download URL).
      preview: f.content.split('\n').slice(0, 5).join('\n').slice(0, 200),
      preview_highlight: '',
      lines: f.content.split('\n').length,
      lines_more: Math.max(0, f.content.split('\n').length - 5),
      preview_is_truncated: f.content.split('\n').length > 5,
      has_rich_preview: false,
    };
  }

  // ---------- Slack → app ----------

  /**
   * Deliver one Events API callback, as Slack does: a signed JSON POST of an event_callback envelope. Resolves with
   * the HTTP status once the app answered (Bolt acknowledges events before its listeners run).
   */
  async sendEvent(
    appUrl: string,
    event: Record<string, any>,
    o: { team?: { id: string; domain: string }; signWith?: string } = {},
  ): Promise<number> {
    const team = o.team ?? this.team;
    const envelope = {
      token: 'deprecated-verification-token',
      team_id: team.id,
      context_team_id: team.id,
      context_enterprise_id: null,
      api_app_id: 'A0QM',
      event: { ...event, event_ts: event.event_ts ?? event.ts ?? this.ts() },
      type: 'event_callback',
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        { enterprise_id: null, team_id: team.id, user_id: 'UQMBOT', is_bot: true, is_enterprise_install: false },
      ],
      is_ext_shared_channel: false,
      event_context: `4-${randomBytes(12).toString('hex')}`,
    };
    const body = JSON.stringify(envelope);
    const res = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.sign(body, undefined, o.signWith) },
      body,
    });
    await res.text();
    this.events.push({ body: envelope, status: res.status });
    return res.status;
  }

  /**
   * A person posts a message in a channel (or a thread, with `threadTs`; a DM to the bot in a D… channel): kept in
   * `posted`, delivered as a `message` event. Returns the message.
   */
  async say(
    appUrl: string,
    o: {
      user: string;
      channel: string;
      text: string;
      threadTs?: string;
      blocks?: any[];
      attachments?: any[];
      team?: { id: string; domain: string };
    },
  ): Promise<PostedMessage> {
    const ts = this.ts();
    const m: PostedMessage = {
      channel: o.channel,
      ts,
      user: o.user,
      botId: null,
      text: o.text,
      threadTs: o.threadTs ?? null,
      blocks: o.blocks ?? richText(o.text),
      attachments: o.attachments,
      files: [],
      deleted: false,
    };
    this.posted.set(ts, m);
    await this.sendEvent(
      appUrl,
      {
        ...this.messageEvent(m, o.team),
        channel: o.channel,
        event_ts: ts,
        channel_type: channelType(o.channel),
      },
      { team: o.team },
    );
    return m;
  }

  /** The author edits a message: Slack sends message_changed with the new and the previous message. */
  async edit(appUrl: string, m: PostedMessage, text: string): Promise<number> {
    const previous = this.messageEvent(m);
    m.text = text;
    m.blocks = richText(text);
    const editTs = this.ts();
    return this.sendEvent(appUrl, {
      type: 'message',
      subtype: 'message_changed',
      message: { ...this.messageEvent(m), edited: { user: m.user, ts: editTs } },
      previous_message: previous,
      channel: m.channel,
      hidden: true,
      ts: editTs,
      event_ts: editTs,
      channel_type: channelType(m.channel),
    });
  }

  /** A person shares a snippet (a "text snippet" from the composer): a file_share message with the file. */
  async shareSnippet(
    appUrl: string,
    o: { user: string; channel: string; content: string; title?: string; comment?: string; filetype?: string },
  ): Promise<PostedMessage> {
    const ts = this.ts();
    const snippet: FakeSnippet = {
      id: `F${String(++this.seq).padStart(9, '0')}`,
      title: o.title ?? 'Untitled',
      content: o.content,
      filetype: o.filetype ?? 'text',
      mode: 'snippet',
      user: o.user,
    };
    const m: PostedMessage = {
      channel: o.channel,
      ts,
      user: o.user,
      botId: null,
      text: o.comment ?? '',
      threadTs: null,
      blocks: o.comment ? richText(o.comment) : undefined,
      files: [snippet],
      deleted: false,
    };
    this.posted.set(ts, m);
    await this.sendEvent(appUrl, {
      ...this.messageEvent(m),
      subtype: 'file_share',
      upload: false,
      display_as_bot: false,
      channel: o.channel,
      event_ts: ts,
      channel_type: channelType(o.channel),
    });
    return m;
  }

  /** Another app's bot posts (an integration echoing a config, say): a bot_message with its bot_id. */
  async botSays(appUrl: string, o: { channel: string; text: string; botId?: string }): Promise<PostedMessage> {
    const ts = this.ts();
    const m: PostedMessage = {
      channel: o.channel,
      ts,
      user: null,
      botId: o.botId ?? 'B0OTHERAPP',
      text: o.text,
      threadTs: null,
      files: [],
      deleted: false,
    };
    this.posted.set(ts, m);
    await this.sendEvent(appUrl, {
      type: 'message',
      subtype: 'bot_message',
      text: o.text,
      ts,
      username: 'ci-bot',
      bot_id: m.botId,
      app_id: 'A0OTHERAPP',
      channel: o.channel,
      event_ts: ts,
      channel_type: channelType(o.channel),
    });
    return m;
  }

  /** A message as it appears inside an event (and as `message` / `previous_message` of message_changed). */
  private messageEvent(m: PostedMessage, team = this.team): Record<string, any> {
    return {
      type: 'message',
      ...(m.user ? { user: m.user, client_msg_id: randomBytes(16).toString('hex') } : { bot_id: m.botId }),
      text: m.text,
      ts: m.ts,
      ...(m.threadTs ? { thread_ts: m.threadTs, parent_user_id: this.posted.get(m.threadTs)?.user ?? undefined } : {}),
      team: team.id,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.attachments ? { attachments: m.attachments } : {}),
      ...(m.files.length ? { files: m.files.map((f) => this.fileObject(f)) } : {}),
    };
  }

  sign(body: string, ts = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET): Record<string, string> {
    const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig };
  }

  slashCommandBody(
    text: string,
    user: string,
    responseId = randomBytes(6).toString('hex'),
    channel = 'C0GENERAL',
    team = this.team,
  ): string {
    return new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: team.id,
      team_domain: team.domain,
      channel_id: channel,
      channel_name: 'general',
      user_id: user,
      user_name: this.users.get(user)?.name ?? 'someone',
      command: '/qm',
      text,
      api_app_id: 'A0QM',
      is_enterprise_install: 'false',
      response_url: `${this.base}/respond/${responseId}`,
      trigger_id: `${Date.now()}.${++this.seq}.${randomBytes(16).toString('hex')}`,
    }).toString();
  }

  /**
   * Click a button on a message, as Slack does: a signed form POST with one `payload` field
   * (block_actions). Resolves with the HTTP status and whatever the app sent to the click's response_url.
   */
  async click(
    appUrl: string,
    o: {
      user: string;
      actionId: string;
      message: FakeSlackMessage;
      team?: { id: string; domain: string };
      /** The clicking user's own workspace, when not the channel's (Slack Connect). */
      userTeamId?: string;
    },
  ): Promise<{ status: number; responseId: string }> {
    const team = o.team ?? this.team;
    const responseId = randomBytes(6).toString('hex');
    const u = this.users.get(o.user);
    const payload = {
      type: 'block_actions',
      user: { id: o.user, username: u?.name, name: u?.name, team_id: o.userTeamId ?? team.id },
      api_app_id: 'A0QM',
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: o.message.ts, channel_id: o.message.channel, is_ephemeral: false },
      trigger_id: `${Date.now()}.${++this.seq}.${randomBytes(16).toString('hex')}`,
      team: { id: team.id, domain: team.domain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: o.message.channel, name: 'general' },
      message: {
        type: 'message',
        user: 'UQMBOT',
        bot_id: 'BQMBOT',
        ts: o.message.ts,
        text: o.message.text,
        blocks: o.message.blocks,
      },
      state: { values: {} },
      response_url: `${this.base}/respond/${responseId}`,
      actions: [
        {
          type: 'button',
          action_id: o.actionId,
          block_id: 'b',
          value: o.actionId,
          text: { type: 'plain_text', text: 'x' },
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const res = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM, ...this.sign(body) },
      body,
    });
    await res.text();
    return { status: res.status, responseId };
  }

  /** The buttons (action_id by label) on a message. */
  buttons(m: FakeSlackMessage): Record<string, string> {
    const out: Record<string, string> = {};
    for (const b of m.blocks) for (const e of b.elements ?? []) if (e.type === 'button') out[e.text.text] = e.action_id;
    return out;
  }

  /** POST a correctly signed slash command, as Slack does, and wait for the answer on its response_url. */
  async command(
    appUrl: string,
    text: string,
    user: string,
    o: { signWith?: string; timestamp?: number; waitMs?: number; team?: { id: string; domain: string } } = {},
  ): Promise<{ status: number; ackBody: string; ackMs: number; reply: any | null }> {
    const responseId = randomBytes(6).toString('hex');
    const body = this.slashCommandBody(text, user, responseId, undefined, o.team);
    const started = Date.now();
    const res = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM, ...this.sign(body, o.timestamp, o.signWith) },
      body,
    });
    const ackBody = await res.text();
    const ackMs = Date.now() - started;
    if (res.status !== 200) return { status: res.status, ackBody, ackMs, reply: null };
    const reply = await waitFor(() => this.responses.find((r) => r.id === responseId)?.body, o.waitMs ?? 10_000);
    return { status: res.status, ackBody, ackMs, reply };
  }
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: any[];
  history: { text: string; blocks: any[] }[];
}

/** The rich_text block Slack's composer sends along with a message's text. */
function richText(text: string): any[] {
  return [
    {
      type: 'rich_text',
      block_id: randomBytes(3).toString('base64url'),
      elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }],
    },
  ];
}

/** The channel_type Slack puts on a message event: channel (C…), group (private, G…) or im (D…). */
function channelType(channel: string): string {
  return channel.startsWith('D') ? 'im' : channel.startsWith('G') ? 'group' : 'channel';
}

/** Everything a user would read in a Slack message: the fallback text plus every block's text. */
export function visibleText(msg: any): string {
  const parts: string[] = [msg?.text ?? ''];
  for (const b of msg?.blocks ?? []) {
    if (b.text?.text) parts.push(b.text.text);
    for (const f of b.fields ?? []) parts.push(f.text);
    for (const e of b.elements ?? []) parts.push(e.text?.text ?? e.text ?? '');
  }
  return parts.join('\n');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function waitFor<T>(
  fn: () => T | undefined | null | Promise<T | undefined | null>,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`waitFor: nothing after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
