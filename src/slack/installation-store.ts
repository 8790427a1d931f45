/**
 * Bolt's InstallationStore over the Store port, for multi-workspace OAuth installs (`GET /slack/install`).
 *
 * Each installation carries its workspace's bot token, so it is stored encrypted: AES-256-GCM with a fresh 96-bit
 * IV per write, the row's key (`team:<id>` / `enterprise:<id>`) as additional authenticated data (a ciphertext
 * copied onto another workspace's row does not decrypt), and a key derived with HKDF-SHA256 from
 * SLACK_CLIENT_SECRET and a fixed info string.
 *
 * Why the client secret and not SLACK_STATE_SECRET: the state secret only signs the ten-minute OAuth `state`
 * cookie and can be rotated at any time at the cost of in-flight installs; tying the stored tokens to it would turn
 * that harmless rotation into "every workspace must reinstall". The client secret is the credential these
 * installations belong to (the tokens were issued to this client id and secret), it never leaves the server, and
 * it is not in the database, so a copy of the database alone reveals no token. HKDF with its own info string keeps
 * the derived key separate from any other use of the secret. The price: after regenerating the client secret in
 * Slack, the stored installations no longer decrypt and each workspace reinstalls at /slack/install (the failure
 * is logged with that advice).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Logger } from '../core/ports/runtime.js';
import type { Store } from '../core/ports/store.js';

const HKDF_INFO = 'quartermaster/slack-installation/aes-256-gcm/v1';
const VERSION = 'v1';

export type SlackInstallations = Store['slackInstallations'];

/** The row key: `enterprise:<id>` for an org-wide install, else `team:<id>`. */
export function installationKey(q: { isEnterpriseInstall?: boolean; enterpriseId?: string; teamId?: string }): string {
  if (q.isEnterpriseInstall && q.enterpriseId) return `enterprise:${q.enterpriseId}`;
  if (q.teamId) return `team:${q.teamId}`;
  throw new Error('a Slack installation has neither a team id nor an enterprise id');
}

export function deriveInstallationKey(clientSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', clientSecret, Buffer.alloc(0), HKDF_INFO, 32));
}

export function encryptInstallation(key: Buffer, rowKey: string, installation: Installation): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(rowKey));
  const body = Buffer.concat([cipher.update(JSON.stringify(installation), 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    body.toString('base64url'),
  ].join('.');
}

/** Throws when the ciphertext was not made with this key for this row (tampered, moved, or another secret). */
export function decryptInstallation(key: Buffer, rowKey: string, ciphertext: string): Installation {
  const [version, iv, tag, body] = ciphertext.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('unknown ciphertext format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(rowKey));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as Installation;
}

export class EncryptedInstallationStore implements InstallationStore {
  private readonly key: Buffer;

  constructor(
    private readonly rows: SlackInstallations,
    clientSecret: string,
    private readonly logger: Logger,
    /** SLACK_ALLOWED_TEAMS: when a list, only these teams (or Enterprise Grid orgs) may install or be served. */
    private readonly allowedTeams: readonly string[] | '*' | null = null,
  ) {
    this.key = deriveInstallationKey(clientSecret);
  }

  /** Whether a workspace may use this Quartermaster (every workspace, without SLACK_ALLOWED_TEAMS). */
  allows(teamId: string | undefined, enterpriseId: string | undefined): boolean {
    if (!this.allowedTeams || this.allowedTeams === '*') return true;
    return Boolean(
      (teamId && this.allowedTeams.includes(teamId)) || (enterpriseId && this.allowedTeams.includes(enterpriseId)),
    );
  }

  async storeInstallation<V extends 'v1' | 'v2'>(installation: Installation<V, boolean>): Promise<void> {
    if (!this.allows(installation.team?.id, installation.enterprise?.id)) {
      this.logger.warn(
        { team: installation.team?.id, enterprise: installation.enterprise?.id },
        'slack install refused: team not in SLACK_ALLOWED_TEAMS',
      );
      throw Object.assign(new Error('this Slack workspace is not allowed to install Quartermaster'), {
        code: 'qm_team_not_allowed',
      });
    }
    const key = installationKey({
      isEnterpriseInstall: installation.isEnterpriseInstall,
      enterpriseId: installation.enterprise?.id,
      teamId: installation.team?.id,
    });
    await this.rows.save({
      key,
      teamId: installation.team?.id ?? null,
      enterpriseId: installation.enterprise?.id ?? null,
      botUserId: installation.bot?.userId ?? null,
      scopes: installation.bot?.scopes ?? [],
      installedAt: new Date(),
      ciphertext: encryptInstallation(this.key, key, installation as Installation),
    });
    this.logger.info({ installation: key, scopes: installation.bot?.scopes ?? [] }, 'slack app installed');
  }

  /** Throws when there is no usable installation: Bolt answers the request as an authorization failure. */
  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation> {
    const key = installationKey(query);
    if (!this.allows(query.teamId, query.enterpriseId)) throw new Error(`Slack ${key} is not in SLACK_ALLOWED_TEAMS`);
    const row = await this.rows.find(key);
    if (!row) throw new Error(`Quartermaster is not installed in Slack ${key}; install it at /slack/install`);
    try {
      return decryptInstallation(this.key, key, row.ciphertext);
    } catch {
      this.logger.error(
        { installation: key },
        'the stored Slack installation cannot be decrypted with this SLACK_CLIENT_SECRET (was it regenerated?); reinstall at /slack/install',
      );
      throw new Error(`the stored Slack installation for ${key} cannot be decrypted`);
    }
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.rows.delete(installationKey(query));
  }

  /** The bot token for a workspace (notifications outside any interaction); throws when it is not installed. */
  async botTokenFor(teamId: string): Promise<string> {
    const installation = await this.fetchInstallation({ teamId, isEnterpriseInstall: false, enterpriseId: undefined });
    if (!installation.bot?.token) throw new Error(`the Slack installation for team:${teamId} has no bot token`);
    return installation.bot.token;
  }
}
