/**
 * A protocol-faithful local fake of the parts of Discord Quartermaster touches (from ../shared/recipes/discord, README §2).
 * The REAL discord.js Client logs into it with `new Client({ rest: { api: fake.restApi } })` and `client.login(fake.token)`:
 *  - REST under /api/v10: gateway discovery, users/@me, applications/@me, interaction callbacks (3 s deadline, one
 *    acknowledgement), webhook follow-ups and @original edits (15-minute token), channel messages and DMs with the bot
 *    token, application commands, guild members. Every call is recorded in `calls`; every message (and each revision of
 *    it) in `messages` / `history`. Bodies are validated like Discord does where cheap (400 50035 Invalid Form Body).
 *  - the gateway (ws, path /gateway, JSON, no compression): HELLO → IDENTIFY → READY + GUILD_CREATE, HEARTBEAT → ACK.
 *  - the Discord → app direction: INTERACTION_CREATE for slash commands, buttons/selects and modal submits with the full
 *    payload shape, and Ed25519-signed bodies for the HTTP interactions endpoint; members' messages and edits
 *    (MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE) to clients that identified with GUILD_MESSAGES, with their
 *    content only for those that also asked for the privileged MESSAGE_CONTENT intent (as Discord does).
 *  - AutoMod rules (list, create, modify), with Discord's validation of keyword rules; Manage Server and Manage
 *    Messages can be taken from the bot (`botCanManageGuild`, `botCanManageMessages`) to get Discord's 403s.
 * Time: `now()` is the fake's clock; `advance(ms)` moves it (3 s callback deadline, 15 min token lifetime), and
 * `expireToken(token)` expires one interaction token at once.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { multipartBoundary, parseMultipart } from './multipart.js';

const DISCORD_EPOCH = 1420070400000n;

/** Discord permission bitfields (strings on the wire). */
export const PERMISSIONS = {
  /** What @everyone gets here: view, send, read history, embed, attach, react, use application commands, … */
  member: '1759667499158593',
  /** Administrator: Discord sends every bit for members with the Administrator permission. */
  all: '8866461766385663',
  administrator: '8',
} as const;

/** Gateway intent bits (Discord's Gateway Intents table). */
export const Intents = { GUILDS: 1 << 0, GUILD_MESSAGES: 1 << 9, DIRECT_MESSAGES: 1 << 12, MESSAGE_CONTENT: 1 << 15 };

export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 };
export const CallbackType = {
  Pong: 1,
  ChannelMessage: 4,
  DeferredChannelMessage: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  AutocompleteResult: 8,
  Modal: 9,
};
const EPHEMERAL = 64;
const LOADING = 128;
const COMPONENTS_V2 = 32768;

export interface FakeDiscordUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: '0';
  avatar: null;
  bot?: boolean;
  /** Role ids this user holds in the fake guild. */
  roles: string[];
  /** Member permissions the fake puts in interactions (PERMISSIONS.all for admins). */
  permissions: string;
  /** When true, DMs to this user fail with 403 50007 (privacy settings / no mutual guild). */
  dmsClosed?: boolean;
}

export interface RestCall {
  method: string;
  /** Decoded path below /api/v10, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: Record<string, string>;
  body: any;
  /** The Authorization header (undefined for interaction callbacks and webhook routes). */
  auth?: string;
  status: number;
  response: any;
  at: number;
}

export interface MessageRevision {
  at: number;
  via: 'create' | 'callback' | 'webhook' | 'channel';
  body: any;
  content: string;
  embeds: any[];
  components: any[];
  flags: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  /** The payload as dispatched (INTERACTION_CREATE d / HTTP body). */
  payload: any;
  dispatchedAt: number;
  /** The accepted callback body ({type, data}) or null. */
  callback: any | null;
  callbackAt: number | null;
  /** Id of the @original message (the reply, or the component's message for types 6/7). */
  originalId: string | null;
  followUpIds: string[];
  /** Set by expireToken(); the token also expires 15 minutes after dispatchedAt. */
  expired: boolean;
  /** True once a user-visible reply exists: callback 4/7, or an @original edit after 5/6. */
  resolved: boolean;
}

export interface CommandSpec {
  /** A user object or the key in `fake.users` ('alice'). */
  user: FakeDiscordUser | string;
  name?: string;
  /** The raw option tree: [{name:'keys', type:2, options:[{name:'revoke', type:1, options:[{name:'key', type:3, value:'k1'}]}]}]. */
  options?: any[];
  /** Alternative to `options`: group/subcommand + args (string→3, integer→4, boolean→5, number→10, user→6). */
  group?: string;
  subcommand?: string;
  args?: Record<string, string | number | boolean | FakeDiscordUser>;
  /** null: the command comes from a DM with the bot (context 1, `user` instead of `member`). */
  guildId?: string | null;
  channelId?: string;
  permissions?: string;
  roles?: string[];
  locale?: string;
}

export interface SentInteraction {
  id: string;
  token: string;
  payload: any;
}

type Route = [number, any];
type Errors = Record<string, any>;

const iso = (ms: number) => new Date(ms).toISOString();
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));
const formError = (errors: Errors, wrap?: string): Route => [
  400,
  { message: 'Invalid Form Body', code: 50035, errors: wrap ? { [wrap]: errors } : errors },
];

/**
 * Whether Rust's `regex` crate (Discord's AutoMod engine) would compile a pattern, as far as JavaScript can tell:
 * it must compile here, and use nothing Rust lacks (look-around, backreferences, possessive or atomic groups).
 */
export function isRustRegex(pattern: string): boolean {
  if (/\(\?<?[=!]|\(\?>|\\[1-9]|\\k<|[*+?}]\+/.test(pattern)) return false;
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/** Put `{_errors:[{code,message}]}` at a dotted path, the way Discord nests form errors. */
function addError(errors: Errors, path: (string | number)[], code: string, message: string) {
  let node = errors;
  for (const p of path) {
    const k = String(p);
    node[k] ??= {};
    node = node[k];
  }
  node._errors ??= [];
  node._errors.push({ code, message });
}

const maxLen = (n: number) => `Must be ${n} or fewer in length.`;
const between = (a: number, b: number) => `Must be between ${a} and ${b} in length.`;

/** Discord's message-body limits (content, embeds, legacy action rows). Returns null when valid. */
export function validateMessageBody(b: any, opts: { create: boolean }): Errors | null {
  const e: Errors = {};
  if (!b || typeof b !== 'object') return null;
  if (typeof b.content === 'string' && b.content.length > 2000) {
    addError(e, ['content'], 'BASE_TYPE_MAX_LENGTH', maxLen(2000));
  }
  if (Array.isArray(b.embeds)) {
    if (b.embeds.length > 10) addError(e, ['embeds'], 'BASE_TYPE_MAX_LENGTH', maxLen(10));
    let total = 0;
    b.embeds.forEach((em: any, i: number) => {
      const len = (s: unknown) => (typeof s === 'string' ? s.length : 0);
      if (len(em?.title) > 256) addError(e, ['embeds', i, 'title'], 'BASE_TYPE_MAX_LENGTH', maxLen(256));
      if (len(em?.description) > 4096) {
        addError(e, ['embeds', i, 'description'], 'BASE_TYPE_MAX_LENGTH', maxLen(4096));
      }
      if (len(em?.footer?.text) > 2048)
        addError(e, ['embeds', i, 'footer', 'text'], 'BASE_TYPE_MAX_LENGTH', maxLen(2048));
      if (len(em?.author?.name) > 256)
        addError(e, ['embeds', i, 'author', 'name'], 'BASE_TYPE_MAX_LENGTH', maxLen(256));
      const fields: any[] = Array.isArray(em?.fields) ? em.fields : [];
      if (fields.length > 25) addError(e, ['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', maxLen(25));
      fields.forEach((f, j) => {
        if (!f?.name) addError(e, ['embeds', i, 'fields', j, 'name'], 'BASE_TYPE_REQUIRED', 'This field is required');
        if (f?.value === undefined || f?.value === null || f?.value === '') {
          addError(e, ['embeds', i, 'fields', j, 'value'], 'BASE_TYPE_REQUIRED', 'This field is required');
        }
        if (len(f?.name) > 256) addError(e, ['embeds', i, 'fields', j, 'name'], 'BASE_TYPE_MAX_LENGTH', maxLen(256));
        if (len(f?.value) > 1024)
          addError(e, ['embeds', i, 'fields', j, 'value'], 'BASE_TYPE_MAX_LENGTH', maxLen(1024));
        total += len(f?.name) + len(f?.value);
      });
      total += len(em?.title) + len(em?.description) + len(em?.footer?.text) + len(em?.author?.name);
    });
    if (total > 6000) addError(e, ['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  }
  const v2 = ((b.flags ?? 0) & COMPONENTS_V2) !== 0;
  if (Array.isArray(b.components) && !v2) {
    if (b.components.length > 5) addError(e, ['components'], 'BASE_TYPE_BAD_LENGTH', between(0, 5));
    const seen = new Set<string>();
    b.components.forEach((row: any, i: number) => {
      if (row?.type !== 1) {
        addError(e, ['components', i, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
        return;
      }
      const items: any[] = Array.isArray(row.components) ? row.components : [];
      if (items.length < 1 || items.length > 5) {
        addError(e, ['components', i, 'components'], 'BASE_TYPE_BAD_LENGTH', between(1, 5));
      }
      const selects = items.filter((c) => c?.type >= 3 && c?.type <= 8 && c?.type !== 4).length;
      if (selects && items.length > 1) {
        addError(
          e,
          ['components', i, 'components'],
          'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
          'The specified component exceeds the maximum width',
        );
      }
      items.forEach((c, j) => {
        const at = ['components', i, 'components', j];
        const isLink = c?.type === 2 && c?.style === 5;
        const isPremium = c?.type === 2 && c?.style === 6;
        if (!isLink && !isPremium) {
          if (typeof c?.custom_id !== 'string')
            addError(e, [...at, 'custom_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
          else if (c.custom_id.length < 1 || c.custom_id.length > 100) {
            addError(e, [...at, 'custom_id'], 'BASE_TYPE_BAD_LENGTH', between(1, 100));
          } else if (seen.has(c.custom_id)) {
            addError(
              e,
              [...at, 'custom_id'],
              'COMPONENT_CUSTOM_ID_DUPLICATED',
              'Component custom id cannot be duplicated',
            );
          } else seen.add(c.custom_id);
        }
        if (c?.type === 2) {
          if (!isPremium && !c.label && !c.emoji)
            addError(e, [...at, 'label'], 'BASE_TYPE_REQUIRED', 'This field is required');
          if (typeof c.label === 'string' && c.label.length > 80) {
            addError(e, [...at, 'label'], 'BASE_TYPE_MAX_LENGTH', maxLen(80));
          }
          if (isLink && !c.url) addError(e, [...at, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
          if (isLink && c.custom_id !== undefined) {
            addError(
              e,
              [...at, 'custom_id'],
              'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED',
              'A custom id cannot be set for link buttons',
            );
          }
          if (![1, 2, 3, 4, 5, 6].includes(c.style)) {
            addError(e, [...at, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
          }
        }
        if (c?.type === 3) {
          const n = Array.isArray(c.options) ? c.options.length : 0;
          if (n < 1 || n > 25) addError(e, [...at, 'options'], 'BASE_TYPE_BAD_LENGTH', between(1, 25));
        }
      });
    });
  }
  if (Array.isArray(b.__files) && b.__files.length > 10) addError(e, ['files'], 'BASE_TYPE_MAX_LENGTH', maxLen(10));
  if (Array.isArray(b.attachments)) {
    b.attachments.forEach((a: any, i: number) => {
      if (typeof a?.description === 'string' && a.description.length > 1024) {
        addError(e, ['attachments', i, 'description'], 'BASE_TYPE_MAX_LENGTH', maxLen(1024));
      }
      // A new attachment's id names its file part (`files[<id>]`); there must be one.
      const isNew = typeof a?.id === 'number' || (typeof a?.id === 'string' && a.id.length < 5);
      if (isNew && !(b.__files ?? []).some((f: ReceivedFile) => f.key === `files[${a.id}]`)) {
        addError(e, ['attachments', i, 'id'], 'ATTACHMENT_NOT_FOUND', 'Attachment data not found');
      }
    });
  }
  if (opts.create) {
    const empty =
      !(typeof b.content === 'string' && b.content.length) &&
      !(Array.isArray(b.embeds) && b.embeds.length) &&
      !(Array.isArray(b.components) && b.components.length) &&
      !(Array.isArray(b.attachments) && b.attachments.length) &&
      !(Array.isArray(b.__files) && b.__files.length) &&
      !(Array.isArray(b.sticker_ids) && b.sticker_ids.length) &&
      !b.poll;
    if (empty && !Object.keys(e).length) return { __empty: true };
  }
  return Object.keys(e).length ? e : null;
}

function validateModal(d: any): Errors | null {
  const e: Errors = {};
  if (typeof d?.custom_id !== 'string' || d.custom_id.length < 1 || d.custom_id.length > 100) {
    addError(e, ['custom_id'], 'BASE_TYPE_BAD_LENGTH', between(1, 100));
  }
  if (typeof d?.title !== 'string' || d.title.length < 1 || d.title.length > 45) {
    addError(e, ['title'], 'BASE_TYPE_BAD_LENGTH', between(1, 45));
  }
  const n = Array.isArray(d?.components) ? d.components.length : 0;
  if (n < 1 || n > 5) addError(e, ['components'], 'BASE_TYPE_BAD_LENGTH', between(1, 5));
  return Object.keys(e).length ? e : null;
}

function validateCommands(list: any): Errors | null {
  const e: Errors = {};
  if (!Array.isArray(list)) {
    addError(e, [], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return e;
  }
  if (list.length > 100) addError(e, [], 'BASE_TYPE_MAX_LENGTH', maxLen(100));
  const names = new Set<string>();
  list.forEach((c: any, i: number) => {
    const type = c?.type ?? 1;
    if (
      typeof c?.name !== 'string' ||
      !/^[-_\p{L}\p{N}]{1,32}$/u.test(c.name) ||
      (type === 1 && c.name !== c.name.toLowerCase())
    ) {
      addError(e, [i, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    } else if (names.has(`${type}:${c.name}`)) {
      addError(e, [i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
    } else names.add(`${type}:${c.name}`);
    if (type === 1 && (typeof c?.description !== 'string' || c.description.length < 1 || c.description.length > 100)) {
      addError(e, [i, 'description'], 'BASE_TYPE_BAD_LENGTH', between(1, 100));
    }
    if (Array.isArray(c?.options) && c.options.length > 25)
      addError(e, [i, 'options'], 'BASE_TYPE_MAX_LENGTH', maxLen(25));
  });
  return Object.keys(e).length ? e : null;
}

/** A file part of a multipart message request (`files[n]`), bytes included. */
export interface ReceivedFile {
  key: string;
  filename: string;
  contentType: string | null;
  data: Buffer;
}

/**
 * Parses a JSON body, or a multipart one: the JSON from `payload_json`, and the file parts (`files[n]`, bytes intact)
 * under `__files`. A malformed multipart body gives `__invalid`.
 */
function parseBody(raw: Buffer, contentType: string | undefined): any {
  if (!raw.length) return undefined;
  const boundary = multipartBoundary(contentType);
  if (boundary) {
    let payload: any = {};
    const files: ReceivedFile[] = [];
    try {
      for (const part of parseMultipart(raw, boundary)) {
        if (part.name === 'payload_json') payload = JSON.parse(part.data.toString('utf8'));
        else if (part.filename !== undefined) {
          files.push({
            key: part.name,
            filename: part.filename,
            contentType: part.contentType ?? null,
            data: Buffer.from(part.data),
          });
        }
      }
    } catch (err) {
      return { __invalid: (err as Error).message };
    }
    return files.length ? { ...payload, __files: files } : payload;
  }
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function makeUser(id: string, username: string, global: string, admin: boolean, adminRoleId: string): FakeDiscordUser {
  return {
    id,
    username,
    global_name: global,
    discriminator: '0',
    avatar: null,
    roles: admin ? [adminRoleId] : [],
    permissions: admin ? PERMISSIONS.all : PERMISSIONS.member,
  };
}

/** The wire shape of a user (no fake-only fields). */
export function apiUser(u: FakeDiscordUser) {
  return {
    id: u.id,
    username: u.username,
    global_name: u.global_name,
    discriminator: u.discriminator,
    avatar: u.avatar,
    public_flags: 0,
    ...(u.bot ? { bot: true } : {}),
  };
}

export interface FakeDiscordOptions {
  /** HELLO heartbeat_interval in ms (Discord sends 41250; use ~200 to exercise heartbeats). */
  heartbeatInterval?: number;
  guildName?: string;
  channelName?: string;
}

export class FakeDiscord {
  readonly appId = '1400000000000000001';
  readonly guildId = '1400000000000000100';
  readonly channelId = '1400000000000000200';
  readonly adminRoleId = '1400000000000000110';
  /** Looks like a real bot token (base64 app id . timestamp . hmac); must not start with "bot" (login() strips it). */
  readonly token =
    `${Buffer.from('1400000000000000001').toString('base64').replace(/=+$/, '')}.GfAkE0.quartermaster-fake-bot-token`;
  readonly botUser: FakeDiscordUser;
  readonly guildName: string;
  readonly users: {
    alice: FakeDiscordUser;
    bob: FakeDiscordUser;
    carol: FakeDiscordUser;
    dave: FakeDiscordUser;
    erin: FakeDiscordUser;
    mallory: FakeDiscordUser;
    [name: string]: FakeDiscordUser;
  };
  /** Ed25519 key pair of the application; `publicKey` is the hex string the Developer Portal shows. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;

  heartbeatInterval: number;
  /** Time allowed between dispatch and the first callback (Discord: 3 s). */
  callbackDeadlineMs = 3000;
  /** The gateway closes every IDENTIFY with 4004 (a token reset after REST accepted it). */
  refuseIdentify = false;
  /**
   * False: the Message Content intent is not switched on for this bot in the Developer Portal, so an IDENTIFY that
   * asks for it is closed with 4014 (Disallowed intent(s)).
   */
  allowMessageContent = true;
  /** Interaction token lifetime (Discord: 15 minutes). */
  tokenLifetimeMs = 15 * 60_000;

  base = '';
  calls: RestCall[] = [];
  /** Current state of every message the fake knows, by id. */
  messages = new Map<string, any>();
  /** Every revision of each message (create first), by message id. */
  history = new Map<string, MessageRevision[]>();
  deletedMessageIds = new Set<string>();
  /** False: the bot lacks Manage Messages, so deleting someone else's message answers 403 50013. */
  botCanManageMessages = true;
  /** False: the bot lacks Manage Server, so every AutoMod route answers 403 50013. */
  botCanManageGuild = true;
  /** The guild's AutoMod rules, by id. */
  autoModRules = new Map<string, any>();
  /** Every gateway dispatch sent to a client (type and payload), for tests that check what the app was sent. */
  dispatched: { t: string; d: any }[] = [];
  /** Bytes of every attachment, by attachment id. */
  attachmentData = new Map<string, { data: Buffer; contentType: string | null }>();
  channels = new Map<string, any>();
  interactions = new Map<string, InteractionRecord>();
  /** Stored application commands: key 'global' or the guild id. */
  commands = new Map<string, any[]>();
  identifies: any[] = [];
  heartbeats = 0;
  sockets = new Set<WebSocket>();
  /** The intents each identified socket asked for. */
  private socketIntents = new Map<WebSocket, number>();

  private http!: Server;
  private wss!: WebSocketServer;
  private seq = 0;
  private clockOffset = 0;
  private stopped = false;
  private lastSnowflake = 0n;
  private sessions = new Set<string>();
  private listeners = new Set<() => void>();
  private waiters = new Set<(err: Error) => void>();

  constructor(opts: FakeDiscordOptions = {}) {
    this.heartbeatInterval = opts.heartbeatInterval ?? 41250;
    this.guildName = opts.guildName ?? 'Acme';
    this.botUser = {
      ...makeUser(this.appId, 'quartermaster', 'Quartermaster', false, this.adminRoleId),
      bot: true,
      global_name: null,
    };
    const a = this.adminRoleId;
    this.users = {
      alice: makeUser('1400000000000000301', 'alice', 'Alice', true, a),
      bob: makeUser('1400000000000000302', 'bob', 'Bob', false, a),
      carol: makeUser('1400000000000000303', 'carol', 'Carol', false, a),
      dave: makeUser('1400000000000000304', 'dave', 'Dave', false, a),
      erin: makeUser('1400000000000000305', 'erin', 'Erin', false, a),
      mallory: makeUser('1400000000000000306', 'mallory', 'Mallory', false, a),
    };
    this.channels.set(this.channelId, {
      id: this.channelId,
      type: 0,
      guild_id: this.guildId,
      name: opts.channelName ?? 'ops',
      position: 0,
      permission_overwrites: [],
      nsfw: false,
      parent_id: null,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
    });
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKey = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  }

  /** Pass as `new Client({ rest: { api: fake.restApi } })` / `new REST({ api })`; discord.js appends /v10. */
  get restApi(): string {
    return `${this.base}/api`;
  }
  get gatewayUrl(): string {
    return `${this.base.replace(/^http/, 'ws')}/gateway`;
  }
  /** Intents of the last IDENTIFY. */
  get intents(): number | undefined {
    return this.identifies.at(-1)?.intents;
  }

  // ---------------------------------------------------------------- clock
  now(): number {
    return Date.now() + this.clockOffset;
  }
  /** Moves the fake's clock forward (callback deadline, token expiry, timestamps). */
  advance(ms: number): void {
    this.clockOffset += ms;
  }
  /** Expires one interaction token now: webhook calls with it then answer 401 50027. */
  expireToken(token: string): void {
    const it = this.byToken(token);
    if (!it) throw new Error(`FakeDiscord: no interaction with token ${token}`);
    it.expired = true;
  }

  snowflake(): string {
    let s = (BigInt(this.now()) - DISCORD_EPOCH) << 22n;
    if (s <= this.lastSnowflake) s = this.lastSnowflake + 1n;
    this.lastSnowflake = s;
    return String(s);
  }

  // ---------------------------------------------------------------- lifecycle
  async start(): Promise<this> {
    this.http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.onRequest(req, res, Buffer.concat(chunks)));
    });
    this.wss = new WebSocketServer({ server: this.http, path: '/gateway' });
    this.wss.on('connection', (ws, req) => this.onGateway(ws, req));
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  /** Closes every gateway socket and HTTP connection, then the server; pending waiters reject. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped || !this.http) return;
    this.stopped = true;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
    for (const cancel of [...this.waiters]) cancel(new Error('FakeDiscord: stopped while waiting'));
  }

  // ---------------------------------------------------------------- REST
  private onRequest(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const url = new URL(req.url ?? '/', 'http://x');
    // The CDN: an attachment's `url`, as a client downloads it (not a REST call).
    const file = /^\/attachments\/(\d+)\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (file) {
      const data = req.method === 'GET' ? this.attachmentData.get(file[2]!) : undefined;
      if (!data) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': data.contentType ?? 'application/octet-stream' }).end(data.data);
      return;
    }
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10(?=\/)/, '');
    const body = parseBody(raw, req.headers['content-type']);
    const auth = req.headers.authorization;
    const query = Object.fromEntries(url.searchParams);
    let status: number;
    let out: any;
    try {
      [status, out] = !url.pathname.startsWith('/api/v10/')
        ? [404, { message: '404: Not Found', code: 0 }]
        : body?.__invalid
          ? [400, { message: `400: Bad Request (${body.__invalid})`, code: 0 }]
          : this.route(req.method ?? 'GET', path, query, body, auth);
    } catch (err) {
      [status, out] = [500, { message: `fake-discord: ${(err as Error).stack}`, code: 0 }];
    }
    this.calls.push({
      method: req.method ?? 'GET',
      path,
      query,
      body,
      auth,
      status,
      response: clone(out),
      at: this.now(),
    });
    this.notify();
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  }

  route(method: string, path: string, q: Record<string, string>, b: any, auth?: string): Route {
    let m: RegExpMatchArray | null = null;

    // Interaction callbacks: no Authorization header, the token in the URL is the credential.
    m = path.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/);
    if (m) {
      if (method !== 'POST') return [405, { message: '405: Method Not Allowed', code: 0 }];
      const it = this.interactions.get(m[1]!);
      if (!it || it.token !== m[2]) return [404, { message: 'Unknown interaction', code: 10062 }];
      return this.acknowledge(it, b, q.with_response === 'true');
    }

    // Webhooks (interaction follow-ups and @original): also no Authorization header.
    m = path.match(/^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original|\d+))?$/);
    if (m) {
      const it = this.byToken(m[2]!);
      if (!it || m[1] !== this.appId) return [404, { message: 'Unknown Webhook', code: 10015 }];
      if (it.expired || this.now() - it.dispatchedAt > this.tokenLifetimeMs) {
        return [401, { message: 'Invalid Webhook Token', code: 50027 }];
      }
      return this.webhook(method, it, m[3], q, b);
    }

    const botAuth = auth === `Bot ${this.token}`;
    if (!botAuth) return [401, { message: '401: Unauthorized', code: 0 }];

    if (method === 'GET' && path === '/gateway/bot') {
      return [
        200,
        {
          url: this.gatewayUrl,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
        },
      ];
    }
    if (method === 'GET' && path === '/gateway') return [200, { url: this.gatewayUrl }];
    if (method === 'GET' && path === '/users/@me')
      return [200, { ...apiUser(this.botUser), flags: 0, mfa_enabled: false }];
    if (method === 'GET' && path === '/applications/@me') return [200, this.application()];

    if (path === '/users/@me/channels' && method === 'POST') {
      const user = this.userById(String(b?.recipient_id ?? ''));
      if (!user) return [400, { message: 'Invalid Recipient(s)', code: 50033 }];
      return [200, this.dmChannel(user)];
    }

    m = path.match(/^\/channels\/(\d+)\/messages(?:\/(\d+))?$/);
    if (m) {
      return this.channelMessages(method, m[1]!, m[2], b);
    }
    m = path.match(/^\/channels\/(\d+)$/);
    if (m && method === 'GET') {
      const ch = this.channels.get(m[1]!);
      return ch ? [200, clone(ch)] : [404, { message: 'Unknown Channel', code: 10003 }];
    }

    m = path.match(/^\/applications\/(\d+)\/(?:guilds\/(\d+)\/)?commands$/);
    if (m) {
      if (m[1] !== this.appId) return [403, { message: 'Missing Access', code: 50001 }];
      if (m[2] && m[2] !== this.guildId) return [403, { message: 'Missing Access', code: 50001 }];
      const key = m[2] ?? 'global';
      if (method === 'GET') return [200, clone(this.commands.get(key) ?? [])];
      if (method === 'PUT') {
        const errors = validateCommands(b);
        if (errors) return formError(errors);
        const old = this.commands.get(key) ?? [];
        const stored = (b as any[]).map((c) => {
          const type = c.type ?? 1;
          const prev = old.find((o) => o.name === c.name && o.type === type);
          return {
            id: prev?.id ?? this.snowflake(),
            application_id: this.appId,
            ...(m![2] ? { guild_id: m![2] } : {}),
            version: this.snowflake(),
            default_member_permissions: null,
            type,
            nsfw: false,
            description: '',
            options: [],
            integration_types: [0],
            contexts: m![2] ? null : [0, 1, 2],
            ...clone(c),
          };
        });
        this.commands.set(key, stored);
        return [200, clone(stored)];
      }
    }

    m = path.match(/^\/guilds\/(\d+)\/auto-moderation\/rules(?:\/(\d+))?$/);
    if (m) return this.autoModeration(method, m[1]!, m[2], b);

    m = path.match(/^\/guilds\/(\d+)\/members\/(\d+)$/);
    if (m && method === 'GET') {
      if (m[1] !== this.guildId) return [404, { message: 'Unknown Guild', code: 10004 }];
      const u = m[2] === this.appId ? this.botUser : this.userById(m[2]!);
      if (!u) return [404, { message: 'Unknown Member', code: 10007 }];
      return [200, this.member(u, false)];
    }
    m = path.match(/^\/guilds\/(\d+)$/);
    if (m && method === 'GET') {
      if (m[1] !== this.guildId) return [404, { message: 'Unknown Guild', code: 10004 }];
      const { channels: _c, members: _m, ...g } = this.guildCreate();
      return [200, g];
    }
    return [404, { message: '404: Not Found', code: 0 }];
  }

  /** Applies an interaction callback (also usable for HTTP-mode responses the app returned in the HTTP body). */
  acknowledge(it: InteractionRecord, b: any, withResponse = false): Route {
    if (it.expired || this.now() - it.dispatchedAt > this.callbackDeadlineMs) {
      return [404, { message: 'Unknown interaction', code: 10062 }];
    }
    if (it.callback) return [400, { message: 'Interaction has already been acknowledged.', code: 40060 }];
    const type = b?.type;
    const allowed: Record<number, number[]> = {
      [InteractionType.Ping]: [1],
      [InteractionType.ApplicationCommand]: [4, 5, 9],
      [InteractionType.MessageComponent]: [4, 5, 6, 7, 9],
      [InteractionType.Autocomplete]: [8],
      [InteractionType.ModalSubmit]: it.payload.message ? [4, 5, 6, 7] : [4, 5],
    };
    const ok = allowed[it.type] ?? [];
    if (!ok.includes(type)) {
      const e: Errors = {};
      addError(e, ['type'], 'BASE_TYPE_CHOICES', `Value must be one of {${ok.join(', ')}}.`);
      return formError(e);
    }
    const data = b.data ?? {};
    if (type === 4 || type === 7) {
      const errors = validateMessageBody(data, { create: type === 4 });
      if (errors?.__empty) return [400, { message: 'Cannot send an empty message', code: 50006 }];
      if (errors) return formError(errors, 'data');
    }
    if (type === 9) {
      const errors = validateModal(data);
      if (errors) return formError(errors, 'data');
    }
    it.callback = clone(b);
    it.callbackAt = this.now();
    let message: any = null;
    if (type === 4 || type === 5) {
      const flags = ((data.flags ?? 0) & (EPHEMERAL | COMPONENTS_V2)) | (type === 5 ? LOADING : 0);
      message = this.createMessage(it.payload.channel_id, type === 5 ? { flags } : { ...data, flags }, 'callback', {
        ...this.interactionMessageFields(it),
        type: it.type === InteractionType.ApplicationCommand ? 20 : 0,
      });
      it.originalId = message.id;
      it.resolved = type === 4;
    } else if (type === 6 || type === 7) {
      const target = this.messages.get(it.payload.message?.id);
      it.originalId = it.payload.message?.id ?? null;
      if (target && type === 7) {
        this.editMessage(target, data, 'callback');
        it.resolved = true;
      }
      message = target ?? null;
    }
    if (!withResponse) return [204, null];
    return [
      200,
      {
        interaction: {
          id: it.id,
          type: it.type,
          ...(message
            ? {
                response_message_id: message.id,
                response_message_loading: type === 5,
                response_message_ephemeral: ((message.flags ?? 0) & EPHEMERAL) !== 0,
              }
            : {}),
        },
        resource: { type, ...(message ? { message: clone(message) } : {}) },
      },
    ];
  }

  private webhook(
    method: string,
    it: InteractionRecord,
    which: string | undefined,
    q: Record<string, string>,
    b: any,
  ): Route {
    if (!which) {
      if (method !== 'POST') return [405, { message: '405: Method Not Allowed', code: 0 }];
      if (!it.callback) return [404, { message: 'Unknown Webhook', code: 10015 }];
      const errors = validateMessageBody(b, { create: true });
      if (errors?.__empty) return [400, { message: 'Cannot send an empty message', code: 50006 }];
      if (errors) return formError(errors);
      const msg = this.createMessage(it.payload.channel_id, b, 'webhook', {
        ...this.interactionMessageFields(it),
        interaction_metadata: {
          ...this.interactionMessageFields(it).interaction_metadata,
          original_response_message_id: it.originalId,
        },
      });
      it.followUpIds.push(msg.id);
      return q.wait === 'true' ? [200, clone(msg)] : [204, null];
    }
    const id = which === '@original' ? it.originalId : which;
    const owned = id && (id === it.originalId || it.followUpIds.includes(id));
    const target = owned ? this.messages.get(id) : undefined;
    if (!target) return [404, { message: 'Unknown Message', code: 10008 }];
    if (method === 'GET') return [200, clone(target)];
    if (method === 'DELETE') {
      this.deleteMessage(target.id);
      return [204, null];
    }
    if (method === 'PATCH') {
      const errors = validateMessageBody(b, { create: false });
      if (errors) return formError(errors);
      this.editMessage(target, b, 'webhook');
      if (target.id === it.originalId) it.resolved = true;
      return [200, clone(target)];
    }
    return [405, { message: '405: Method Not Allowed', code: 0 }];
  }

  private channelMessages(method: string, channelId: string, messageId: string | undefined, b: any): Route {
    const ch = this.channels.get(channelId);
    if (!ch) return [404, { message: 'Unknown Channel', code: 10003 }];
    if (!messageId) {
      if (method !== 'POST') return [405, { message: '405: Method Not Allowed', code: 0 }];
      if (ch.type === 1) {
        const recipient = this.userById(ch.recipients?.[0]?.id);
        if (recipient?.dmsClosed) return [403, { message: 'Cannot send messages to this user', code: 50007 }];
      }
      const errors = validateMessageBody(b, { create: true });
      if (errors?.__empty) return [400, { message: 'Cannot send an empty message', code: 50006 }];
      if (errors) return formError(errors);
      // Ephemeral is only for interaction responses: Discord ignores the flag here.
      const flags = (b.flags ?? 0) & ~(EPHEMERAL | LOADING);
      const created = this.createMessage(channelId, { ...b, flags }, 'channel');
      if (ch.guild_id) this.dispatchMessageEvent('MESSAGE_CREATE', this.messageEvent(created));
      return [200, clone(created)];
    }
    const msg = this.messages.get(messageId);
    // Ephemeral messages are not reachable through channel routes.
    if (!msg || msg.channel_id !== channelId || (msg.flags & EPHEMERAL) !== 0) {
      return [404, { message: 'Unknown Message', code: 10008 }];
    }
    if (method === 'GET') return [200, clone(msg)];
    if (method === 'DELETE') {
      // Anyone may delete their own message; someone else's needs Manage Messages in the channel.
      if (msg.author.id !== this.appId && !this.botCanManageMessages) {
        return [403, { message: 'Missing Permissions', code: 50013 }];
      }
      this.deleteMessage(messageId);
      this.dispatchMessageEvent('MESSAGE_DELETE', { id: messageId, channel_id: channelId, guild_id: ch.guild_id });
      return [204, null];
    }
    if (method === 'PATCH') {
      if (msg.author.id !== this.appId) {
        return [403, { message: 'Cannot edit a message authored by another user', code: 50005 }];
      }
      const errors = validateMessageBody(b, { create: false });
      if (errors) return formError(errors);
      this.editMessage(msg, b, 'channel');
      if (ch.guild_id) this.dispatchMessageEvent('MESSAGE_UPDATE', this.messageEvent(msg));
      return [200, clone(msg)];
    }
    return [405, { message: '405: Method Not Allowed', code: 0 }];
  }

  // ---------------------------------------------------------------- AutoMod
  /**
   * `/guilds/{id}/auto-moderation/rules[/{rule}]`: list, get, create, modify, delete. Every route needs Manage
   * Server (403 50013 without it). Bodies are checked like Discord's docs describe them (names, event and trigger
   * types, at most 10 regex patterns of at most 260 characters that Rust's regex engine accepts, a custom message of
   * at most 150 characters, an alert channel of this guild), answering 400 50035 with the failing fields.
   */
  private autoModeration(method: string, guildId: string, ruleId: string | undefined, b: any): Route {
    if (guildId !== this.guildId) return [404, { message: 'Unknown Guild', code: 10004 }];
    if (!this.botCanManageGuild) return [403, { message: 'Missing Permissions', code: 50013 }];
    if (!ruleId) {
      if (method === 'GET') return [200, [...this.autoModRules.values()].map(clone)];
      if (method !== 'POST') return [405, { message: '405: Method Not Allowed', code: 0 }];
      const errors = this.validateAutoModRule(b, true);
      if (errors) return formError(errors);
      const rule = {
        id: this.snowflake(),
        guild_id: guildId,
        name: b.name,
        creator_id: this.appId,
        event_type: b.event_type,
        trigger_type: b.trigger_type,
        trigger_metadata: this.triggerMetadata(b.trigger_metadata),
        actions: clone(b.actions),
        enabled: b.enabled ?? false,
        exempt_roles: clone(b.exempt_roles ?? []),
        exempt_channels: clone(b.exempt_channels ?? []),
      };
      this.autoModRules.set(rule.id, rule);
      return [200, clone(rule)];
    }
    const rule = this.autoModRules.get(ruleId);
    if (!rule) return [404, { message: 'Unknown Auto Moderation Rule', code: 10066 }];
    if (method === 'GET') return [200, clone(rule)];
    if (method === 'DELETE') {
      this.autoModRules.delete(ruleId);
      return [204, null];
    }
    if (method !== 'PATCH') return [405, { message: '405: Method Not Allowed', code: 0 }];
    const errors = this.validateAutoModRule({ ...b, trigger_type: rule.trigger_type }, false);
    if (errors) return formError(errors);
    for (const k of ['name', 'event_type', 'actions', 'enabled', 'exempt_roles', 'exempt_channels'] as const) {
      if (b?.[k] !== undefined) rule[k] = clone(b[k]);
    }
    if (b?.trigger_metadata !== undefined) rule.trigger_metadata = this.triggerMetadata(b.trigger_metadata);
    return [200, clone(rule)];
  }

  private triggerMetadata(t: any) {
    return {
      keyword_filter: clone(t?.keyword_filter ?? []),
      regex_patterns: clone(t?.regex_patterns ?? []),
      allow_list: clone(t?.allow_list ?? []),
    };
  }

  private validateAutoModRule(b: any, create: boolean): Errors | null {
    const e: Errors = {};
    if (!b || typeof b !== 'object') {
      addError(e, [], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      return e;
    }
    const required = (k: string) =>
      create && b[k] === undefined && addError(e, [k], 'BASE_TYPE_REQUIRED', 'This field is required');
    for (const k of ['name', 'event_type', 'trigger_type', 'actions']) required(k);
    if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > 100)) {
      addError(e, ['name'], 'BASE_TYPE_BAD_LENGTH', between(1, 100));
    }
    if (b.event_type !== undefined && ![1, 2].includes(b.event_type)) {
      addError(e, ['event_type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2}.');
    }
    if (b.trigger_type !== undefined && ![1, 3, 4, 5, 6].includes(b.trigger_type)) {
      addError(e, ['trigger_type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 3, 4, 5, 6}.');
    }
    const t = b.trigger_metadata;
    if (t !== undefined) {
      const patterns = t?.regex_patterns;
      if (patterns !== undefined) {
        if (!Array.isArray(patterns))
          addError(e, ['trigger_metadata', 'regex_patterns'], 'BASE_TYPE_ARRAY', 'Must be an array.');
        else {
          if (patterns.length > 10) {
            addError(e, ['trigger_metadata', 'regex_patterns'], 'BASE_TYPE_MAX_LENGTH', maxLen(10));
          }
          patterns.forEach((p: unknown, i: number) => {
            const at = ['trigger_metadata', 'regex_patterns', i];
            if (typeof p !== 'string') addError(e, at, 'BASE_TYPE_STRING', 'Must be a string.');
            else if (p.length > 260) addError(e, at, 'BASE_TYPE_MAX_LENGTH', maxLen(260));
            else if (!isRustRegex(p)) addError(e, at, 'AUTO_MODERATION_INVALID_REGEX', 'Invalid regex');
          });
        }
      }
      const keywords = t?.keyword_filter;
      if (Array.isArray(keywords)) {
        if (keywords.length > 1000)
          addError(e, ['trigger_metadata', 'keyword_filter'], 'BASE_TYPE_MAX_LENGTH', maxLen(1000));
        keywords.forEach((k: unknown, i: number) => {
          if (typeof k !== 'string' || k.length > 60) {
            addError(e, ['trigger_metadata', 'keyword_filter', i], 'BASE_TYPE_MAX_LENGTH', maxLen(60));
          }
        });
      }
      if (b.trigger_type === 1 && !(patterns?.length || keywords?.length)) {
        addError(
          e,
          ['trigger_metadata'],
          'AUTO_MODERATION_TRIGGER_METADATA_EMPTY',
          'A keyword rule needs keywords or regex patterns',
        );
      }
    }
    if (b.actions !== undefined) {
      if (!Array.isArray(b.actions) || b.actions.length < 1) {
        addError(e, ['actions'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      } else {
        b.actions.forEach((a: any, i: number) => {
          if (![1, 2, 3, 4].includes(a?.type)) {
            addError(e, ['actions', i, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
          }
          const message = a?.metadata?.custom_message;
          if (a?.type === 1 && message !== undefined && (typeof message !== 'string' || message.length > 150)) {
            addError(e, ['actions', i, 'metadata', 'custom_message'], 'BASE_TYPE_MAX_LENGTH', maxLen(150));
          }
          if (a?.type === 2) {
            const ch = this.channels.get(String(a?.metadata?.channel_id ?? ''));
            if (!ch || ch.guild_id !== this.guildId || ch.type !== 0) {
              addError(e, ['actions', i, 'metadata', 'channel_id'], 'CHANNEL_TYPE_INVALID', 'Invalid channel');
            }
          }
        });
      }
    }
    return Object.keys(e).length ? e : null;
  }

  // ---------------------------------------------------------------- messages
  private interactionMessageFields(it: InteractionRecord) {
    const user = apiUser(this.interactionUser(it.payload));
    const p = it.payload;
    return {
      webhook_id: this.appId,
      application_id: this.appId,
      interaction_metadata: {
        id: it.id,
        type: it.type,
        user,
        authorizing_integration_owners: p.authorizing_integration_owners,
        ...(it.type === InteractionType.ApplicationCommand
          ? { name: p.data.name, command_type: p.data.type ?? 1 }
          : {}),
        ...(p.message ? { interacted_message_id: p.message.id } : {}),
      },
      ...(it.type === InteractionType.ApplicationCommand
        ? { interaction: { id: it.id, type: it.type, name: p.data.name, user } }
        : {}),
    };
  }

  private interactionUser(p: any): FakeDiscordUser {
    const id = p.member?.user?.id ?? p.user?.id;
    return this.userById(id) ?? { ...(p.member?.user ?? p.user), roles: [], permissions: PERMISSIONS.member };
  }

  /** Stores a message as Discord would return it; `via` is recorded in the history. */
  createMessage(channelId: string, body: any, via: MessageRevision['via'], extra: Record<string, any> = {}): any {
    const now = this.now();
    const attachments = this.newAttachments(channelId, body);
    const m = {
      id: this.snowflake(),
      channel_id: channelId,
      author: apiUser(this.botUser),
      content: body?.content ?? '',
      timestamp: iso(now),
      edited_timestamp: null,
      tts: Boolean(body?.tts),
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments,
      embeds: (body?.embeds ?? []).map((e: any) => ({ type: 'rich', ...clone(e) })),
      components: clone(body?.components ?? []),
      pinned: false,
      type: 0,
      flags: body?.flags ?? 0,
      ...extra,
    };
    this.messages.set(m.id, m);
    const ch = this.channels.get(channelId);
    if (ch && (m.flags & EPHEMERAL) === 0) ch.last_message_id = m.id;
    this.history.set(m.id, [this.revision(m, body, via)]);
    return m;
  }

  /**
   * The attachments a message body creates: one per `files[n]` part, named and described by the `attachments` entry
   * whose id is n (as Discord matches them). The bytes are kept for `attachmentBytes` and the CDN URL.
   */
  private newAttachments(channelId: string, body: any): any[] {
    const files: ReceivedFile[] = Array.isArray(body?.__files) ? body.__files : [];
    const meta: any[] = Array.isArray(body?.attachments) ? body.attachments : [];
    return files.map((f) => {
      const n = /^files\[(\d+)\]$/.exec(f.key)?.[1];
      const m = meta.find((a) => n !== undefined && String(a?.id) === n);
      const id = this.snowflake();
      const filename = m?.filename ?? f.filename;
      this.attachmentData.set(id, { data: f.data, contentType: f.contentType });
      const url = `${this.base}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
      return {
        id,
        filename,
        size: f.data.length,
        url,
        proxy_url: url,
        ...(f.contentType ? { content_type: f.contentType } : {}),
        ...(typeof m?.description === 'string' ? { description: m.description } : {}),
      };
    });
  }

  /** The bytes of a message's attachment, as uploaded. */
  attachmentBytes(messageId: string, index = 0): Buffer | undefined {
    const a = this.messages.get(messageId)?.attachments?.[index];
    return a ? this.attachmentData.get(a.id)?.data : undefined;
  }

  /** Adds a message authored by someone else (e.g. a user's message the bot should see). */
  addMessage(channelId: string, author: FakeDiscordUser, content: string): any {
    return this.createMessage(channelId, { content }, 'create', { author: apiUser(author) });
  }

  private editMessage(msg: any, b: any, via: MessageRevision['via']) {
    if (b?.content !== undefined) msg.content = b.content ?? '';
    if (b?.embeds !== undefined) msg.embeds = (b.embeds ?? []).map((e: any) => ({ type: 'rich', ...clone(e) }));
    if (b?.components !== undefined) msg.components = clone(b.components ?? []);
    if (b?.attachments !== undefined && Array.isArray(b.attachments)) {
      const keep = new Set(b.attachments.map((a: any) => String(a.id)));
      msg.attachments = msg.attachments.filter((a: any) => keep.has(a.id));
    }
    // New files in an edit are added to the ones kept.
    if (Array.isArray(b?.__files)) msg.attachments = [...msg.attachments, ...this.newAttachments(msg.channel_id, b)];
    if (b?.flags !== undefined && b.flags !== null) {
      // Only SUPPRESS_EMBEDS (4) and IS_COMPONENTS_V2 can be changed by an edit.
      msg.flags = (msg.flags & ~(4 | COMPONENTS_V2)) | (b.flags & (4 | COMPONENTS_V2));
    }
    msg.flags &= ~LOADING;
    msg.edited_timestamp = iso(this.now());
    this.history.get(msg.id)?.push(this.revision(msg, b, via));
  }

  private deleteMessage(id: string) {
    this.messages.delete(id);
    this.deletedMessageIds.add(id);
  }

  private revision(m: any, body: any, via: MessageRevision['via']): MessageRevision {
    return {
      at: this.now(),
      via,
      body: clone(body),
      content: m.content,
      embeds: clone(m.embeds),
      components: clone(m.components),
      flags: m.flags,
    };
  }

  /** The revisions of a message (create, then each edit). */
  editsOf(messageId: string): MessageRevision[] {
    return this.history.get(messageId) ?? [];
  }

  // ---------------------------------------------------------------- guild objects
  userById(id: string | undefined): FakeDiscordUser | undefined {
    if (!id) return undefined;
    if (id === this.appId) return this.botUser;
    return Object.values(this.users).find((u) => u.id === id);
  }

  private resolveUser(u: FakeDiscordUser | string): FakeDiscordUser {
    if (typeof u !== 'string') return u;
    const user = this.users[u] ?? this.userById(u);
    if (!user) throw new Error(`FakeDiscord: unknown user ${u}`);
    return user;
  }

  /** Adds a user to the fake (and the guild). */
  addUser(key: string, opts: Partial<FakeDiscordUser> & { username?: string; admin?: boolean } = {}): FakeDiscordUser {
    const { admin, ...rest } = opts;
    const u = {
      ...makeUser(this.snowflake(), opts.username ?? key, opts.global_name ?? key, !!admin, this.adminRoleId),
      ...rest,
    };
    this.users[key] = u;
    return u;
  }

  member(u: FakeDiscordUser, withPermissions = true, roles?: string[], permissions?: string) {
    return {
      user: apiUser(u),
      roles: roles ?? u.roles,
      nick: null,
      avatar: null,
      banner: null,
      premium_since: null,
      joined_at: '2024-01-15T09:00:00.000000+00:00',
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
      unusual_dm_activity_until: null,
      ...(withPermissions ? { permissions: permissions ?? u.permissions } : {}),
    };
  }

  /** A DM channel with `user` (the same one for repeated calls). */
  dmChannel(user: FakeDiscordUser): any {
    const existing = [...this.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === user.id);
    if (existing) return clone(existing);
    const ch = { id: this.snowflake(), type: 1, last_message_id: null, flags: 0, recipients: [apiUser(user)] };
    this.channels.set(ch.id, ch);
    return clone(ch);
  }

  /** Adds another text channel to the guild: CHANNEL_CREATE to connected clients (all have GUILDS), and in GUILD_CREATE. */
  addChannel(name: string): string {
    const id = this.snowflake();
    const ch = { ...clone(this.channels.get(this.channelId)), id, name, last_message_id: null };
    this.channels.set(id, ch);
    for (const [ws, intents] of this.socketIntents)
      if (intents & Intents.GUILDS) this.dispatchTo(ws, 'CHANNEL_CREATE', clone(ch));
    return id;
  }

  application() {
    return {
      id: this.appId,
      name: 'Quartermaster',
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: this.publicKey,
      flags: 0,
      owner: apiUser(this.users.alice),
      team: null,
      hook: true,
      tags: [],
      redirect_uris: [],
      interactions_endpoint_url: null,
      approximate_guild_count: 1,
      bot: apiUser(this.botUser),
      integration_types_config: { '0': {} },
    };
  }

  private roles() {
    const role = (id: string, name: string, permissions: string, position: number) => ({
      id,
      name,
      permissions,
      position,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      managed: false,
      mentionable: false,
      icon: null,
      unicode_emoji: null,
      flags: 0,
    });
    return [
      role(this.guildId, '@everyone', PERMISSIONS.member, 0),
      role(this.adminRoleId, 'QM Admins', PERMISSIONS.administrator, 1),
    ];
  }

  guildCreate() {
    const guildChannels = [...this.channels.values()].filter((c) => c.guild_id === this.guildId);
    return {
      id: this.guildId,
      name: this.guildName,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.users.alice.id,
      unavailable: false,
      member_count: Object.keys(this.users).length + 1,
      large: false,
      joined_at: iso(this.now()),
      roles: this.roles(),
      emojis: [],
      stickers: [],
      features: [],
      members: [this.member(this.botUser, false, [])],
      voice_states: [],
      presences: [],
      threads: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      channels: clone(guildChannels),
      preferred_locale: 'en-US',
      premium_tier: 0,
      premium_subscription_count: 0,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      afk_channel_id: null,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      afk_timeout: 300,
      application_id: null,
      vanity_url_code: null,
      max_members: 500000,
      max_video_channel_users: 25,
      nsfw: false,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
    };
  }

  // ---------------------------------------------------------------- gateway
  private onGateway(ws: WebSocket, req: IncomingMessage) {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    if ((q.get('encoding') ?? 'json') !== 'json' || q.get('compress')) {
      ws.close(4002, 'Decode error');
      return;
    }
    this.sockets.add(ws);
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.socketIntents.delete(ws);
    });
    ws.on('error', () => {});
    let identified = false;
    this.send(ws, { op: 10, d: { heartbeat_interval: this.heartbeatInterval }, s: null, t: null });
    ws.on('message', (raw) => {
      let p: any;
      try {
        p = JSON.parse(raw.toString());
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      switch (p?.op) {
        case 1: // HEARTBEAT
          this.heartbeats++;
          this.send(ws, { op: 11, d: null, s: null, t: null });
          return;
        case 2: // IDENTIFY
          if (identified) {
            ws.close(4005, 'Already authenticated.');
            return;
          }
          if (p.d?.token !== this.token || this.refuseIdentify) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          if (!this.allowMessageContent && (Number(p.d?.intents ?? 0) & Intents.MESSAGE_CONTENT) !== 0) {
            ws.close(4014, 'Disallowed intent(s).');
            return;
          }
          identified = true;
          this.identifies.push(p.d);
          this.socketIntents.set(ws, Number(p.d?.intents ?? 0));
          this.ready(ws, p.d);
          return;
        case 6: {
          // RESUME: accept a session we issued, replay nothing.
          if (p.d?.token !== this.token || !this.sessions.has(p.d?.session_id)) {
            this.send(ws, { op: 9, d: false, s: null, t: null });
            return;
          }
          identified = true;
          this.dispatchTo(ws, 'RESUMED', {});
          return;
        }
        case 3:
        case 4:
        case 8:
        case 31:
          if (!identified) ws.close(4003, 'Not authenticated.');
          return;
        default:
          ws.close(4001, 'Unknown opcode.');
      }
    });
  }

  private ready(ws: WebSocket, identify: any) {
    const sessionId = `fake-session-${this.snowflake()}`;
    this.sessions.add(sessionId);
    this.dispatchTo(ws, 'READY', {
      v: 10,
      user: { ...apiUser(this.botUser), verified: true, mfa_enabled: false, flags: 0 },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: sessionId,
      session_type: 'normal',
      resume_gateway_url: this.gatewayUrl,
      shard: identify.shard ?? [0, 1],
      application: { id: this.appId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['["fake-discord",{"micros":0}]'],
    });
    this.dispatchTo(ws, 'GUILD_CREATE', this.guildCreate());
  }

  private send(ws: WebSocket, payload: any) {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
  }
  private dispatchTo(ws: WebSocket, t: string, d: any) {
    this.dispatched.push({ t, d: clone(d) });
    this.send(ws, { op: 0, t, s: ++this.seq, d });
  }
  /** Sends a dispatch (op 0) to every connected client. */
  dispatch(t: string, d: any): void {
    for (const ws of this.sockets) this.dispatchTo(ws, t, d);
  }

  // ---------------------------------------------------------------- members' messages (Discord → app)
  /**
   * A member posts in a guild channel: the message is stored (author: the member) and MESSAGE_CREATE goes to every
   * client that identified with GUILD_MESSAGES, as the message object plus `guild_id`, `member` and `mentions`.
   */
  postMessage(
    user: FakeDiscordUser | string,
    content: string,
    o: { channelId?: string; embeds?: any[]; mentions?: FakeDiscordUser[] } = {},
  ): any {
    const u = this.resolveUser(user);
    const channelId = o.channelId ?? this.channelId;
    const msg = this.createMessage(channelId, { content, ...(o.embeds ? { embeds: o.embeds } : {}) }, 'create', {
      author: apiUser(u),
      mentions: (o.mentions ?? []).map(apiUser),
      nonce: String(this.snowflake()),
    });
    this.dispatchMessageEvent('MESSAGE_CREATE', this.messageEvent(msg));
    return clone(msg);
  }

  /** The member edits their message: stored as a revision, then MESSAGE_UPDATE (the whole message, as Discord sends it). */
  editMessageAs(messageId: string, content: string, o: { embeds?: any[] } = {}): any {
    const msg = this.messages.get(messageId);
    if (!msg) throw new Error(`FakeDiscord: no stored message ${messageId}`);
    this.editMessage(msg, { content, ...(o.embeds ? { embeds: o.embeds } : {}) }, 'channel');
    this.dispatchMessageEvent('MESSAGE_UPDATE', this.messageEvent(msg));
    return clone(msg);
  }

  /** The gateway form of a stored guild message: the message object and the MESSAGE_CREATE extra fields. */
  private messageEvent(msg: any): any {
    const guildId = this.channels.get(msg.channel_id)?.guild_id;
    const author = this.userById(msg.author.id);
    const { user: _u, ...member } = author
      ? this.member(author, false, author.id === this.appId ? [] : undefined)
      : { user: null };
    return {
      ...clone(msg),
      ...(guildId ? { guild_id: guildId, ...(author ? { member } : {}) } : {}),
    };
  }

  /**
   * Sends a guild message event to the clients that asked for GUILD_MESSAGES. Without MESSAGE_CONTENT a client gets
   * the message with empty content, embeds, attachments and components, except for the bot's own messages and those
   * that mention it (Discord's rules for the privileged intent).
   */
  private dispatchMessageEvent(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE' | 'MESSAGE_DELETE', d: any): void {
    for (const [ws, intents] of this.socketIntents) {
      if ((intents & Intents.GUILD_MESSAGES) === 0) continue;
      const readable =
        t === 'MESSAGE_DELETE' ||
        (intents & Intents.MESSAGE_CONTENT) !== 0 ||
        d.author?.id === this.appId ||
        (d.mentions ?? []).some((u: any) => u.id === this.appId);
      this.dispatchTo(
        ws,
        t,
        readable ? d : { ...d, content: '', embeds: [], attachments: [], components: [], poll: undefined },
      );
    }
  }
  /** Server-requested heartbeat (op 1): the client must answer with op 1 immediately. */
  requestHeartbeat(): void {
    for (const ws of this.sockets) this.send(ws, { op: 1, d: this.seq, s: null, t: null });
  }

  // ---------------------------------------------------------------- interactions (Discord → app)
  /** Builds the common interaction payload and registers it (callbacks/webhooks then work with its token). */
  buildInteraction(
    type: number,
    data: any,
    o: {
      user: FakeDiscordUser | string;
      guildId?: string | null;
      channelId?: string;
      permissions?: string;
      roles?: string[];
      locale?: string;
      message?: any;
    },
  ): any {
    const user = this.resolveUser(o.user);
    const inGuild = o.guildId !== null;
    const guildId = o.guildId ?? this.guildId;
    const id = this.snowflake();
    const token = `aW50ZXJhY3Rpb246${id}:${Buffer.from(`${id}-${Math.random()}`).toString('base64url')}`;
    let channel: any;
    if (inGuild) {
      const ch = this.channels.get(o.channelId ?? this.channelId) ?? this.channels.get(this.channelId)!;
      channel = { ...clone(ch), permissions: o.permissions ?? user.permissions };
    } else {
      const dm = o.channelId ? this.channels.get(o.channelId) : this.dmChannel(user);
      channel = clone(dm);
    }
    const payload: any = {
      id,
      application_id: this.appId,
      type,
      data,
      token,
      version: 1,
      ...(inGuild
        ? {
            guild_id: guildId,
            guild: { id: guildId, locale: 'en-US', features: [] },
            member: this.member(user, true, o.roles, o.permissions),
            guild_locale: 'en-US',
            authorizing_integration_owners: { '0': guildId },
            context: 0,
          }
        : { user: apiUser(user), authorizing_integration_owners: { '0': guildId }, context: 1 }),
      channel_id: channel.id,
      channel,
      app_permissions: PERMISSIONS.member,
      locale: o.locale ?? 'en-US',
      entitlements: [],
      entitlement_sku_ids: [],
      attachment_size_limit: 10_485_760,
      ...(o.message ? { message: clone(o.message) } : {}),
    };
    this.interactions.set(id, {
      id,
      token,
      type,
      payload,
      dispatchedAt: this.now(),
      callback: null,
      callbackAt: null,
      originalId: null,
      followUpIds: [],
      expired: false,
      resolved: false,
    });
    return payload;
  }

  /** The APPLICATION_COMMAND (chat input) payload for a command spec, registered but not dispatched. */
  buildCommand(spec: CommandSpec): any {
    const name = spec.name ?? 'qm';
    let options = spec.options;
    if (!options) {
      const args = Object.entries(spec.args ?? {}).map(([n, v]) => this.option(n, v));
      if (spec.subcommand) {
        const sub = { name: spec.subcommand, type: 1, options: args };
        options = spec.group ? [{ name: spec.group, type: 2, options: [sub] }] : [sub];
      } else options = args;
    }
    const resolvedUsers: Record<string, any> = {};
    const resolvedMembers: Record<string, any> = {};
    const walk = (opts: any[]) => {
      for (const o of opts ?? []) {
        if (o.options) walk(o.options);
        if ((o.type === 6 || o.type === 9) && this.userById(o.value)) {
          const u = this.userById(o.value)!;
          resolvedUsers[u.id] = apiUser(u);
          const { user: _u, ...member } = this.member(u, true);
          resolvedMembers[u.id] = member;
        }
      }
    };
    walk(options);
    const registered = this.commands.get(spec.guildId === null ? 'global' : this.guildId)?.find((c) => c.name === name);
    const global = this.commands.get('global')?.find((c) => c.name === name);
    const cmd = registered ?? global;
    const data = {
      id: cmd?.id ?? this.snowflake(),
      name,
      type: 1,
      ...(cmd?.guild_id ? { guild_id: cmd.guild_id } : {}),
      options,
      ...(Object.keys(resolvedUsers).length ? { resolved: { users: resolvedUsers, members: resolvedMembers } } : {}),
    };
    return this.buildInteraction(InteractionType.ApplicationCommand, data, spec);
  }

  private option(name: string, v: string | number | boolean | FakeDiscordUser) {
    if (typeof v === 'object') return { name, type: 6, value: v.id };
    if (typeof v === 'boolean') return { name, type: 5, value: v };
    if (typeof v === 'number') return { name, type: Number.isInteger(v) ? 4 : 10, value: v };
    return { name, type: 3, value: v };
  }

  private dispatchInteraction(payload: any): SentInteraction {
    this.dispatch('INTERACTION_CREATE', payload);
    return { id: payload.id, token: payload.token, payload };
  }

  /** Dispatches a slash command (INTERACTION_CREATE type 2). */
  sendCommand(spec: CommandSpec): SentInteraction {
    return this.dispatchInteraction(this.buildCommand(spec));
  }

  /** The MESSAGE_COMPONENT payload for a click on a stored message's button (or a select with `values`). */
  buildComponent(o: {
    user: FakeDiscordUser | string;
    customId: string;
    messageId: string;
    channelId?: string;
    values?: string[];
    permissions?: string;
    roles?: string[];
  }): any {
    const message = this.messages.get(o.messageId);
    if (!message) throw new Error(`FakeDiscord: no stored message ${o.messageId}`);
    const flat = (cs: any[]): any[] =>
      cs.flatMap((c) => [c, ...flat(c.components ?? (c.component ? [c.component] : []))]);
    const component = flat(message.components ?? []).find((c) => c.custom_id === o.customId);
    const componentType = component?.type ?? (o.values ? 3 : 2);
    const data = { custom_id: o.customId, component_type: componentType, ...(o.values ? { values: o.values } : {}) };
    const guildId = this.channels.get(message.channel_id)?.guild_id ? this.guildId : null;
    return this.buildInteraction(InteractionType.MessageComponent, data, {
      ...o,
      guildId,
      channelId: o.channelId ?? message.channel_id,
      message,
    });
  }

  /** Dispatches a button click (INTERACTION_CREATE type 3, `message` = the fake's stored message). */
  sendButton(o: {
    user: FakeDiscordUser | string;
    customId: string;
    messageId: string;
    channelId?: string;
  }): SentInteraction {
    return this.dispatchInteraction(this.buildComponent(o));
  }

  /** Dispatches a string-select choice (type 3, component_type 3, `values`). */
  sendSelect(o: {
    user: FakeDiscordUser | string;
    customId: string;
    messageId: string;
    values: string[];
    channelId?: string;
  }): SentInteraction {
    return this.dispatchInteraction(this.buildComponent(o));
  }

  /**
   * The MODAL_SUBMIT payload. `components` is the raw array ([{type:1, components:[{type:4, custom_id, value}]}] or
   * label components) or `{ fieldId: value }` for text inputs. `messageId`: the modal was opened from that message's button.
   */
  buildModalSubmit(o: {
    user: FakeDiscordUser | string;
    customId: string;
    components: any[] | Record<string, string>;
    messageId?: string;
    channelId?: string;
    guildId?: string | null;
  }): any {
    const components = Array.isArray(o.components)
      ? o.components
      : Object.entries(o.components).map(([custom_id, value]) => ({
          type: 1,
          components: [{ type: 4, custom_id, value }],
        }));
    const message = o.messageId ? this.messages.get(o.messageId) : undefined;
    return this.buildInteraction(InteractionType.ModalSubmit, { custom_id: o.customId, components }, { ...o, message });
  }

  /** Dispatches a modal submit (INTERACTION_CREATE type 5). */
  sendModalSubmit(o: Parameters<FakeDiscord['buildModalSubmit']>[0]): SentInteraction {
    return this.dispatchInteraction(this.buildModalSubmit(o));
  }

  /**
   * An HTTP-interactions request as Discord sends it: the exact body bytes and the Ed25519 headers over
   * `timestamp + body`. `tamper` changes the body after signing (the app must answer 401).
   */
  signedInteraction(
    body: any,
    opts: { timestamp?: string | number; tamper?: boolean } = {},
  ): { body: string; headers: Record<string, string> } {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const ts = String(opts.timestamp ?? Math.floor(this.now() / 1000));
    const signature = sign(null, Buffer.from(ts + raw), this.privateKey).toString('hex');
    return {
      body: opts.tamper ? raw.replace(/}$/, ' }') : raw,
      headers: { 'Content-Type': 'application/json', 'X-Signature-Ed25519': signature, 'X-Signature-Timestamp': ts },
    };
  }

  // ---------------------------------------------------------------- inspection and waiters
  /** The record for an interaction id or token. */
  interaction(idOrToken: string): InteractionRecord | undefined {
    return this.interactions.get(idOrToken) ?? this.byToken(idOrToken);
  }

  private byToken(token: string): InteractionRecord | undefined {
    for (const it of this.interactions.values()) if (it.token === token) return it;
    return undefined;
  }

  /** REST calls made with an interaction's token (callback and webhooks). */
  callsFor(token: string): RestCall[] {
    return this.calls.filter((c) => c.path.includes(`/${token}`));
  }

  private notify() {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves with the first value `check` returns truthy, re-checked after every REST call and every 10 ms. */
  waitUntil<T>(check: () => T | undefined | null | false, ms = 3000, what = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (err?: Error, v?: T) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(listener);
        this.waiters.delete(finish);
        if (err) reject(err);
        else resolve(v as T);
      };
      const listener = () => {
        let v: T | undefined | null | false;
        try {
          v = check();
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (v) finish(undefined, v);
      };
      const timer = setTimeout(
        () => finish(new Error(`FakeDiscord: timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
      const poll = setInterval(listener, 10);
      this.listeners.add(listener);
      this.waiters.add(finish);
      listener();
    });
  }

  /** The first recorded REST call matching `predicate` (earlier calls count too). */
  waitForCall(predicate: (c: RestCall) => boolean, ms = 3000): Promise<RestCall> {
    return this.waitUntil(() => this.calls.find(predicate), ms, 'a matching REST call');
  }

  /**
   * The visible reply to an interaction: the message created by a type 4 callback, the component message after a
   * type 7 update, or the @original after the edit that follows a deferral (5/6), with every later @original edit applied.
   */
  replyTo(interactionId: string, ms = 3000): Promise<any> {
    return this.waitUntil(
      () => {
        const it = this.interaction(interactionId);
        if (!it?.resolved || !it.originalId) return undefined;
        const m = this.messages.get(it.originalId);
        return m ? clone(m) : undefined;
      },
      ms,
      `the reply to interaction ${interactionId}`,
    );
  }

  /** The latest follow-up message sent with an interaction token (waits for the first one). */
  lastFollowUp(token: string, ms = 3000): Promise<any> {
    return this.waitUntil(
      () => {
        const id = this.byToken(token)?.followUpIds.at(-1);
        const m = id ? this.messages.get(id) : undefined;
        return m ? clone(m) : undefined;
      },
      ms,
      `a follow-up for token ${token.slice(0, 12)}…`,
    );
  }
}
