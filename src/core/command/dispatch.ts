/**
 * The one dispatcher both chat adapters call. Named stages, in order:
 *   resolve (who is calling) → authorize (may they) → validate (are the options right) → run → render.
 * Every invocation ends in exactly one audit entry recording the stage it reached and its outcome:
 * `denied` (not linked, not permitted) is kept apart from `failed` (bad input, API or internal failure).
 */
import { describeAdminApiError } from '../admin-errors.js';
import { DomainError } from '../errors.js';
import type { Caller } from '../identity/caller.js';
import { isLinked } from '../identity/caller.js';
import { roleNeededFor } from '../identity/permissions.js';
import type { IdentityResolver } from '../identity/resolve.js';
import { keyHint } from '../leaks/detect.js';
import { AdminApiError } from '../ports/admin-api.js';
import {
  type ChatDirectory,
  type Clock,
  type Logger,
  type WorkOwner,
  type WorkQueue,
  WorkRefused,
} from '../ports/runtime.js';
import type { AuditEntryInput, AuditOutcome, AuditStage, Platform, Store } from '../ports/store.js';
import { identifySecret, redactDeep, redactSecrets, type SecretShape } from '../secrets.js';
import type { Services } from '../services.js';
import type { ActionRegistry } from './actions.js';
import { type CommandRegistry, type InvocationInfo, needsLiveRole, type RegisteredCommand } from './define.js';
import { errorReply, type MessageRef, md, type Reply } from './reply.js';
import { parseCommandText } from './text.js';
import { validateOptions } from './validate.js';

export interface DispatchRequest {
  platform: Platform;
  teamId: string;
  userId: string;
  channelId: string | null;
  /** `/qm` on both platforms. */
  prefix: string;
  input: { kind: 'text'; text: string } | { kind: 'structured'; name: string; options: Record<string, unknown> };
  chat: ChatDirectory | null;
  /** Shows the reply to the caller; a failure here is recorded as the render stage failing. */
  deliver(reply: Reply): Promise<MessageRef | undefined>;
}

export interface DispatchResult {
  reply: Reply;
  outcome: AuditOutcome;
  stage: AuditStage;
  errorCode: string | null;
  command: string;
}

export interface ActionRequest {
  platform: Platform;
  teamId: string;
  userId: string;
  channelId: string | null;
  /** The opaque id the button carried; everything else is looked up server-side. */
  actionId: string;
  /** The message the button is on. */
  messageId: string | null;
  chat: ChatDirectory | null;
  /** Replace the card the button is on. */
  updateCard(reply: Reply): Promise<void>;
  /** Tell only the person who clicked. */
  notify(reply: Reply): Promise<void>;
}

/** How an invocation ends: the reply, its outcome, the error code and the audit message. */
type Ending = [reply: Reply, outcome: AuditOutcome, errorCode: string | null, message: string | null];

/** One command invocation as it moves through the stages (what the audit entry records). */
interface Invocation {
  req: DispatchRequest;
  started: number;
  log: Logger;
  caller: Caller | null;
  command: RegisteredCommand | undefined;
  /** The raw options once parsed. */
  raw?: Record<string, unknown>;
  /** What the audit entry records as the options (redacted there). */
  options: Record<string, unknown>;
  stage: AuditStage;
}

/** Hands a promise to be waited for once the work has left the queue (see Dispatcher.track). */
type Later = (settles: Promise<unknown>) => void;

/**
 * Adapters acknowledge a command or click before they call the dispatcher (Slack and Discord want an answer
 * within 3 seconds), and the dispatcher runs it on the WorkQueue: a bounded number at a time, fair between users
 * and workspaces. A burst therefore queues instead of crowding the event loop with hundreds of half-done commands,
 * which would make the next request's acknowledgement wait behind all of their work.
 */
export class Dispatcher {
  constructor(
    private readonly deps: {
      /** Where acknowledged commands and clicks wait for their turn. */
      queue: WorkQueue;
      registry: CommandRegistry;
      actions: ActionRegistry;
      services: Services;
      identity: IdentityResolver;
      store: Store;
      clock: Clock;
      logger: Logger;
      /** Told of every finished command and click (metrics). */
      observe?: (e: {
        kind: 'command' | 'button';
        platform: Platform;
        name: string;
        outcome: AuditOutcome;
        durationMs: number;
      }) => void;
    },
  ) {}

  /** Commands and clicks accepted but not started yet (waiting for a free slot). */
  get queued(): number {
    return this.deps.queue.waiting;
  }

  /** Resolves once every command and click accepted so far has finished (shutdown waits for acknowledged work). */
  idle(): Promise<void> {
    return this.unfinished === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private unfinished = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /**
   * Runs work on the queue. What it hands to `later` (its audit entry) is waited for after the work gives its
   * queue slot back: the entry is written with the next group commit while the slot already serves someone else,
   * and the caller's promise (and idle()) still resolves only once it is written.
   */
  private track<T>(owner: WorkOwner, run: (later: Later) => Promise<T>): Promise<T> {
    this.unfinished++;
    const pending: Promise<unknown>[] = [];
    return this.deps.queue
      .run(owner, () => run((p) => pending.push(p)))
      .then(async (value) => {
        await Promise.all(pending);
        return value;
      })
      .finally(() => {
        if (--this.unfinished === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /**
   * Work an adapter took in without a command (a chat message to scan for leaked keys): run on the same queue,
   * after the acknowledgement, with the services; shutdown waits for it like any command. It is never dropped:
   * while its owner already has too much waiting it waits for room (backing off), so a flood of messages is scanned
   * late rather than not at all, and never crowds out anyone's commands.
   */
  async background<T>(owner: WorkOwner, work: (services: Services) => Promise<T>): Promise<T> {
    this.unfinished++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.deps.queue.run(owner, () => work(this.deps.services));
        } catch (err) {
          if (!(err instanceof WorkRefused)) throw err;
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
    } finally {
      if (--this.unfinished === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  get registry(): CommandRegistry {
    return this.deps.registry;
  }

  /** Runs one command through the named stages; whatever happens, one audit entry and one reply. */
  dispatch(req: DispatchRequest): Promise<DispatchResult> {
    return this.track(req, (later) => this.dispatchNow(req, later)).catch((err: unknown) => {
      if (!(err instanceof WorkRefused)) throw err;
      // Refused before it ran: told at once, and audited like any refusal.
      return this.finish(this.invocation(req), ...busy(err));
    });
  }

  private invocation(req: DispatchRequest): Invocation {
    const logger = this.deps.logger;
    let log: Logger | undefined;
    return {
      req,
      started: Date.now(),
      // Made when something is logged about this command (most commands log only their 'command' line).
      get log() {
        log ??= logger.child({ platform: req.platform, teamId: req.teamId, userId: req.userId });
        return log;
      },
      caller: null,
      command: undefined,
      // What was typed is recorded only once checked for secrets (redacted in finish).
      options: req.input.kind === 'text' ? { text: req.input.text } : { ...req.input.options },
      stage: 'resolve',
    };
  }

  private async dispatchNow(req: DispatchRequest, later: Later): Promise<DispatchResult> {
    const inv = this.invocation(req);
    let ending: Ending;
    try {
      ending = await this.runStages(inv);
    } catch (err) {
      ending = this.failure(err, inv.command, inv.stage, inv.log);
    }
    return this.finish(inv, ...ending, later);
  }

  private async runStages(inv: Invocation): Promise<Ending> {
    inv.caller = await this.deps.identity.resolve(inv.req.platform, inv.req.teamId, inv.req.userId, inv.req.chat);
    const stop = this.refuseSecret(inv) ?? this.parse(inv) ?? (await this.authorize(inv));
    if (stop) return stop;
    const valid = this.validate(inv);
    if (!valid.ok) return valid.ending;
    await this.confirmForOptions(inv, valid.options);
    return this.run(inv, valid.options);
  }

  /** A pasted secret is refused before anything parses, validates, echoes or stores what was typed. */
  private refuseSecret(inv: Invocation): Ending | null {
    const { req } = inv;
    const found = identifySecret(req.input.kind === 'text' ? req.input.text : stringsIn(req.input.options).join('\n'));
    if (!found) return null;
    inv.stage = 'validate';
    if (req.input.kind === 'text') {
      const parsed = parseCommandText(redactSecrets(req.input.text), this.deps.registry, req.prefix);
      if (parsed.ok) inv.command = parsed.command;
    } else inv.command = this.deps.registry.get(req.input.name);
    const { title, text } = secretRefusal(found.shape, found.secret, req.prefix);
    return [errorReply(title, text), 'failed', 'SECRET_IN_INPUT', text];
  }

  /** Which command, and its raw options: typed text (Slack) or structured options (Discord). */
  private parse(inv: Invocation): Ending | null {
    const { req } = inv;
    if (req.input.kind === 'text') {
      const parsed = parseCommandText(req.input.text, this.deps.registry, req.prefix);
      if (!parsed.ok) {
        inv.stage = 'validate';
        return [
          errorReply(`Can't run ${md.code(parsed.attempted)}`, parsed.message),
          'failed',
          'INVALID_INPUT',
          parsed.message,
        ];
      }
      inv.command = parsed.command;
      inv.raw = parsed.raw;
    } else {
      inv.command = this.deps.registry.get(req.input.name);
      if (!inv.command) {
        inv.stage = 'validate';
        const msg = `There is no ${md.code(`${req.prefix} ${req.input.name}`)} command.`;
        return [errorReply('Unknown command', msg), 'failed', 'INVALID_INPUT', msg];
      }
      inv.raw = req.input.options;
    }
    inv.options = { ...inv.raw };
    return null;
  }

  /** May this caller run this command at all? Anything that changes the org is decided on the live role. */
  private async authorize(inv: Invocation): Promise<Ending | null> {
    inv.stage = 'authorize';
    const command = inv.command!;
    const access = command.definition.access;
    if (access === 'public') return null;
    let caller = inv.caller!;
    if (isLinked(caller) && needsLiveRole(command.definition)) {
      caller = await this.deps.identity.confirmLive(caller);
      inv.caller = caller;
    }
    const name = md.code(`${inv.req.prefix} ${command.name}`);
    if (!isLinked(caller)) {
      const msg = caller.unlinkedReason ?? 'Your chat account is not linked to an Anthropic org member.';
      return [errorReply(`You can't run ${name} yet`, msg), 'denied', 'UNLINKED', msg];
    }
    if (access !== 'member' && !caller.permissions.has(access)) {
      const msg = `${name} needs the ${md.bold(roleNeededFor(access))} org role or higher; you are ${md.bold(caller.orgUser.role)}.`;
      return [errorReply('Not allowed', msg), 'denied', 'FORBIDDEN', msg];
    }
    return null;
  }

  private validate(inv: Invocation): { ok: true; options: Record<string, unknown> } | { ok: false; ending: Ending } {
    inv.stage = 'validate';
    const command = inv.command!;
    const valid = validateOptions(command, inv.raw ?? {});
    if (valid.ok) return { ok: true, options: valid.options };
    const msg = `${valid.message}\nUsage: ${md.code(usageOf(inv.req.prefix, command))}`;
    return {
      ok: false,
      ending: [
        errorReply(`Can't run ${md.code(`${inv.req.prefix} ${command.name}`)}`, msg),
        'failed',
        'INVALID_INPUT',
        valid.message,
      ],
    };
  }

  /** Options that act on someone else (link another person) are decided on the role as it is now, too. */
  private async confirmForOptions(inv: Invocation, options: Record<string, unknown>): Promise<void> {
    const caller = inv.caller!;
    if (isLinked(caller) && !caller.roleCheckedLive && inv.command!.definition.liveRoleWhen?.(options, caller)) {
      inv.stage = 'authorize';
      inv.caller = await this.deps.identity.confirmLive(caller);
    }
  }

  private async run(inv: Invocation, options: Record<string, unknown>): Promise<Ending> {
    inv.stage = 'run';
    const { req } = inv;
    const command = inv.command!;
    const invocation: InvocationInfo = {
      platform: req.platform,
      teamId: req.teamId,
      userId: req.userId,
      channelId: req.channelId,
      commandText: `${req.prefix} ${command.name}`,
    };
    const reply = await command.definition.handler({
      options,
      caller: inv.caller!,
      services: this.deps.services,
      invocation,
      registry: this.deps.registry,
    });
    return [reply, 'allowed', null, reply.summary.slice(0, 500)];
  }

  /** Delivers the reply, then writes the one audit entry, the log line and the metric (render stage). */
  private async finish(
    inv: Invocation,
    reply: Reply,
    outcome: AuditOutcome,
    errorCode: string | null,
    message: string | null,
    later?: Later,
  ): Promise<DispatchResult> {
    const { req, command, caller, started } = inv;
    let finalOutcome = outcome;
    let finalCode = errorCode;
    let finalMessage = message;
    try {
      inv.stage = outcome === 'allowed' ? 'render' : inv.stage;
      const ref = await req.deliver(reply);
      if (ref && reply.track) await reply.track(ref);
    } catch (err) {
      inv.stage = 'render';
      finalOutcome = 'failed';
      finalCode = 'RENDER_FAILED';
      finalMessage = `The reply could not be shown: ${(err as Error).message}`;
      inv.log.error({ err, command: command?.name }, 'reply delivery failed');
    }
    const stage = inv.stage;
    // An unknown command's first word is the user's text: never let it carry a secret into the audit or logs.
    const name = redactSecrets(
      command?.name ?? (req.input.kind === 'structured' ? req.input.name : req.input.text.split(/\s+/)[0]) ?? '',
    );
    const audited = this.deps.store.audit
      .append({
        platform: req.platform,
        teamId: req.teamId,
        actorId: req.userId,
        orgUserId: caller?.orgUser?.id ?? null,
        actorEmail: caller?.orgUser?.email ?? null,
        action: name || 'help',
        options: redactDeep(inv.options),
        outcome: finalOutcome,
        stage,
        errorCode: finalCode,
        // Defence in depth: validation and error texts may quote what was typed.
        message: finalMessage === null ? null : redactSecrets(finalMessage),
        durationMs: Date.now() - started,
      })
      // The user already has their answer; an audit failure must still be loud for the operator.
      .catch((err: unknown) => inv.log.error({ err, command: name }, 'audit append failed'));
    if (later) later(audited);
    else await audited;
    // The child logger's bindings, written out: no child logger is made for this line alone.
    this.deps.logger.info(
      {
        platform: req.platform,
        teamId: req.teamId,
        userId: req.userId,
        command: name,
        outcome: finalOutcome,
        stage,
        errorCode: finalCode,
        ms: Date.now() - started,
      },
      'command',
    );
    this.deps.observe?.({
      kind: 'command',
      platform: req.platform,
      name: command?.name ?? 'unknown',
      outcome: finalOutcome,
      durationMs: Date.now() - started,
    });
    return { reply, outcome: finalOutcome, stage, errorCode: finalCode, command: name || '' };
  }

  /** A button click: resolve the clicker now, look the action up, let its handler re-check everything. */
  dispatchAction(req: ActionRequest): Promise<{ outcome: AuditOutcome; errorCode: string | null }> {
    return this.track(req, (later) => this.dispatchActionNow(req, later)).catch(async (err: unknown) => {
      if (!(err instanceof WorkRefused)) throw err;
      const [reply, outcome, errorCode, message] = busy(err);
      const log = this.deps.logger.child({ platform: req.platform, teamId: req.teamId, userId: req.userId });
      await req.notify(reply).catch((e) => log.error({ err: e }, 'could not tell the clicker they are refused'));
      await this.recordClick(req, log, Date.now(), {
        caller: null,
        action: 'button',
        options: { actionId: req.actionId },
        outcome,
        stage: 'resolve',
        errorCode,
        message,
      });
      return { outcome, errorCode };
    });
  }

  private async dispatchActionNow(
    req: ActionRequest,
    later: Later,
  ): Promise<{ outcome: AuditOutcome; errorCode: string | null }> {
    const started = Date.now();
    const log = this.deps.logger.child({ platform: req.platform, teamId: req.teamId, userId: req.userId });
    let caller: Caller | null = null;
    let action = 'button';
    let options: Record<string, unknown> = { actionId: req.actionId };
    let outcome: AuditOutcome = 'failed';
    let errorCode: string | null = null;
    let message: string | null = null;
    let stage: AuditStage = 'resolve';
    try {
      caller = await this.deps.identity.resolve(req.platform, req.teamId, req.userId, req.chat);
      stage = 'validate';
      const token = await this.deps.store.actionTokens.get(req.actionId);
      const def = token ? this.deps.actions.get(token.kind) : undefined;
      if (!token || !def) {
        errorCode = 'NOT_FOUND';
        message = 'unknown or expired button';
        await req.notify(
          errorReply(
            'This button no longer works',
            'It has expired or does not belong to Quartermaster. Run the command again.',
          ),
        );
      } else {
        action = `button ${token.kind}`;
        options = { subjectId: token.subjectId, choice: token.choice };
        stage = 'run';
        const result = await def.handler({
          caller,
          services: this.deps.services,
          subjectId: token.subjectId,
          choice: token.choice,
          platform: req.platform,
          teamId: req.teamId,
          messageId: req.messageId,
          editCard: req.updateCard,
        });
        outcome = result.outcome;
        errorCode = result.errorCode ?? null;
        message = result.message;
        stage = 'render';
        try {
          if (result.card) await req.updateCard(result.card);
          if (result.notice) await req.notify(result.notice);
        } finally {
          result.afterRender?.();
        }
      }
    } catch (err) {
      const [reply, o, code, msg] = this.failure(err, undefined, stage, log);
      outcome = o;
      errorCode = code;
      message = msg;
      await req.notify(reply).catch((e) => log.error({ err: e }, 'could not tell the clicker about a failure'));
    }
    later(this.recordClick(req, log, started, { caller, action, options, outcome, stage, errorCode, message }));
    return { outcome, errorCode };
  }

  /** A click's one audit entry, log line and metric. */
  private async recordClick(
    req: ActionRequest,
    log: Logger,
    started: number,
    c: Pick<AuditEntryInput, 'action' | 'options' | 'outcome' | 'stage' | 'errorCode' | 'message'> & {
      caller: Caller | null;
    },
  ): Promise<void> {
    await this.deps.store.audit
      .append({
        platform: req.platform,
        teamId: req.teamId,
        actorId: req.userId,
        orgUserId: c.caller?.orgUser?.id ?? null,
        actorEmail: c.caller?.orgUser?.email ?? null,
        action: c.action,
        options: redactDeep(c.options),
        outcome: c.outcome,
        stage: c.stage,
        errorCode: c.errorCode,
        message: c.message === null ? null : redactSecrets(c.message),
        durationMs: Date.now() - started,
      })
      .catch((err) => log.error({ err }, 'audit append failed'));
    log.info({ action: c.action, outcome: c.outcome, errorCode: c.errorCode, ms: Date.now() - started }, 'button');
    this.deps.observe?.({
      kind: 'button',
      platform: req.platform,
      name: c.action,
      outcome: c.outcome,
      durationMs: Date.now() - started,
    });
  }

  private failure(
    err: unknown,
    command: RegisteredCommand | undefined,
    stage: AuditStage,
    log: Logger,
  ): [Reply, AuditOutcome, string, string] {
    const what = command ? `${md.code(`/qm ${command.name}`)}` : 'your command';
    if (err instanceof DomainError) {
      const outcome: AuditOutcome = ['FORBIDDEN', 'UNLINKED', 'RATE_LIMITED'].includes(err.code) ? 'denied' : 'failed';
      return [errorReply(`Couldn't run ${what}`, err.userMessage), outcome, err.code, err.userMessage];
    }
    if (err instanceof AdminApiError) {
      const msg = describeAdminApiError(err);
      log.warn(
        { kind: err.kind, status: err.status, requestId: err.requestId, attempts: err.attempts, stage },
        'admin api failed',
      );
      return [errorReply(`Couldn't run ${what}`, msg), 'failed', 'UPSTREAM_FAILED', msg];
    }
    const ref = Math.random().toString(36).slice(2, 10);
    log.error({ err, ref, stage }, 'command crashed');
    const msg = `Something went wrong inside Quartermaster (reference ${md.code(ref)}). An operator can find the details in the logs; check ${md.code('/qm requests list mine')} before trying again.`;
    return [errorReply(`Couldn't run ${what}`, msg), 'failed', 'INTERNAL', msg];
  }
}

/** The answer to a user who already has the most commands waiting that the queue takes. */
function busy(err: WorkRefused): Ending {
  const msg = `You already have ${err.waiting} commands waiting to run; Quartermaster did not queue this one. Wait for their answers, then try again.`;
  return [errorReply('Too many commands at once', msg), 'denied', 'RATE_LIMITED', msg];
}

/** Every string in a structured command's options (values may nest on some platforms). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** The reply to a command that carried a secret: what it looked like, that it was not kept, what to do now. */
function secretRefusal(shape: SecretShape, secret: string, prefix: string): { title: string; text: string } {
  const never = 'Never paste keys or tokens into chat: Quartermaster did not run the command or store what you typed.';
  const hint = md.code(keyHint(secret));
  switch (shape) {
    case 'anthropic_api_key':
      return {
        title: 'That looks like an Anthropic API key',
        text: `${never} If it is real, deactivate it now: find the key with hint ${hint} in ${md.code(`${prefix} keys list`)} and run ${md.code(`${prefix} keys disable <name> reason:leaked`)}, or disable it in the Console.`,
      };
    case 'anthropic_admin_key':
      return {
        title: 'That looks like an Anthropic Admin API key',
        text: `${never} If it is real, delete it now in the Console (Settings → Admin keys, hint ${hint}) and give whatever used it a new one.`,
      };
    case 'anthropic_oauth_token':
      return {
        title: 'That looks like an Anthropic OAuth token',
        text: `${never} If it is real, sign out of the app it came from to revoke it.`,
      };
    case 'anthropic_credential':
      return {
        title: 'That looks like an Anthropic credential',
        text: `${never} If it is real, revoke it in the Console now.`,
      };
    case 'slack_token':
      return {
        title: 'That looks like a Slack token',
        text: `${never} If it is real, revoke or regenerate it now in the Slack app's settings (api.slack.com/apps).`,
      };
    case 'discord_token':
      return {
        title: 'That looks like a Discord bot token',
        text: `${never} If it is real, reset it now in the Discord Developer Portal (your application → Bot → Reset Token).`,
      };
  }
}

export function usageOf(prefix: string, command: RegisteredCommand): string {
  const parts = command.options.map((o) => {
    const body =
      o.kind === 'boolean' ? o.name : o.kind === 'enum' ? `${o.name}:${o.choices?.join('|')}` : `${o.name}:…`;
    return o.required ? body : `[${body}]`;
  });
  return [prefix, command.name, ...parts].join(' ');
}
