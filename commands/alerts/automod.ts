/**
 * `/qm alerts automod` (Discord): installs, or updates in place, the server's AutoMod keyword rule that blocks
 * Anthropic keys before they are posted (src/core/leaks/automod.ts), with Discord's alert posted to the policy's
 * security channel (`leaks.channels.discord`) when there is one. Idempotent: the rule is found by its name. Discord
 * lets only members and bots with Manage Server change AutoMod rules; without it the answer says what to grant, or
 * how to create the rule by hand.
 */
import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { AUTOMOD_PATTERNS, AUTOMOD_RULE_NAME, automodRule } from '../../src/core/leaks/automod.js';

export default defineCommand({
  path: ['alerts', 'automod'],
  description: 'Block Anthropic keys with a Discord AutoMod rule',
  access: 'incidents:manage',
  options: z.object({}),
  examples: ['alerts automod'],
  async handler({ services, invocation }) {
    if (invocation.platform !== 'discord') {
      return reply({
        title: 'AutoMod is a Discord feature',
        text: 'Discord servers can block a message before it is posted (AutoMod); Slack has no such rule. Here Quartermaster scans messages as they are posted, alerts the security channel, warns the poster and, with `SLACK_ADMIN_USER_TOKEN`, deletes the message.',
      });
    }
    const installer = services.notifiers.discord?.automod;
    if (!installer) {
      throw new DomainError(
        'CONFLICT',
        'Installing an AutoMod rule needs the bot token: set `DISCORD_TOKEN` and restart Quartermaster.',
      );
    }
    const alertChannel = services.policy.leakChannels.discord ?? null;
    const outcome = await installer.install(invocation.teamId, automodRule(alertChannel));
    if (!outcome.ok) {
      if (outcome.reason === 'missing_permissions') {
        throw new DomainError(
          'CONFLICT',
          `Discord refused: only members with the **Manage Server** permission can change AutoMod rules, and Quartermaster's bot does not have it here. Give the bot's role Manage Server (Server Settings → Roles) and run ${md.code(`${invocation.commandText}`)} again, or create a keyword rule yourself (Server Settings → Safety Setup → AutoMod) with these regular expressions: ${AUTOMOD_PATTERNS.map((p) => md.code(p)).join(' ')}`,
        );
      }
      if (outcome.reason === 'limit') {
        throw new DomainError(
          'CONFLICT',
          `This server already has as many keyword AutoMod rules as Discord allows. Remove one (Server Settings → Safety Setup → AutoMod) and run ${md.code(invocation.commandText)} again. Discord said: ${md.escape(outcome.detail)}`,
        );
      }
      throw new DomainError(
        'CONFLICT',
        `Discord refused the AutoMod rule: ${md.escape(outcome.detail)}${alertChannel ? ` (the alert channel is \`leaks.channels.discord\` in the policy: ${md.channel(alertChannel)}; check it is a text channel of this server)` : ''}`,
      );
    }
    const where = alertChannel
      ? `Discord posts each blocked message to ${md.channel(alertChannel)} (the policy's \`leaks.channels.discord\`).`
      : 'No alert channel: set `leaks.channels.discord` in the policy and run this again to have Discord post each blocked message there.';
    return reply({
      tone: 'success',
      title: outcome.created ? 'AutoMod rule installed' : 'AutoMod rule updated',
      text: `${outcome.created ? 'Installed' : 'Updated'} the AutoMod rule ${md.bold(AUTOMOD_RULE_NAME)} in this server: a message holding an Anthropic API key, admin key or OAuth token is blocked before anyone sees it, and its author is told why. ${where}`,
      blocks: [
        {
          type: 'context',
          text: 'Run it again at any time: the rule is found by its name and updated, never duplicated. Quartermaster still scans messages it can read (DISCORD_MESSAGE_CONTENT) for what AutoMod lets through.',
        },
      ],
    });
  },
});
