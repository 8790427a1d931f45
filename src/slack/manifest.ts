/**
 * The Slack app manifest, generated from the command definitions (committed as manifest/slack.json;
 * a test fails when it drifts). Create the app at api.slack.com/apps → "From an app manifest".
 */
import type { CommandRegistry } from '../core/command/define.js';

export const SLASH_COMMAND = '/qm';

export const PUBLIC_URL_PLACEHOLDER = 'https://quartermaster.example.com';

/**
 * The bot scopes, one list for the manifest and the OAuth install (`GET /slack/install` asks for exactly these).
 * commands: /qm; chat:write: answers and cards; users:read + users:read.email: link people by verified email;
 * im:write: DMs to requesters and approvers; files:write: chart images attached to messages; channels:history,
 * groups:history, im:history: the messages of the public and private channels the bot is in and of DMs to the bot,
 * scanned for leaked keys; files:read: the text of snippets shared there.
 */
export const SLACK_BOT_SCOPES: readonly string[] = [
  'commands',
  'chat:write',
  'users:read',
  'users:read.email',
  'im:write',
  'files:write',
  'channels:history',
  'groups:history',
  'im:history',
  'files:read',
];

/**
 * Message events, scanned for leaked keys: public channels (message.channels) and private channels (message.groups)
 * the bot is a member of, and direct messages to the bot (message.im). Group DMs the bot is not part of are never
 * seen. Edits come as message_changed, snippets as file_share.
 */
export const SLACK_MESSAGE_EVENTS: readonly string[] = ['message.channels', 'message.groups', 'message.im'];

export function slackManifest(registry: CommandRegistry, publicUrl = PUBLIC_URL_PLACEHOLDER): Record<string, unknown> {
  const events = `${publicUrl}/slack/events`;
  const tops = registry.childrenOf([]);
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name: 'Quartermaster',
      description: 'Run your Anthropic organization from Slack',
      // Only what is built: no digests, budgets, spend limits or leak alerts until their commands exist (a test
      // holds this to the command registry).
      long_description:
        "Quartermaster runs an Anthropic (Claude API) organization from Slack. With /qm, people request API keys, invites, org role changes and workspace changes; approvers decide with buttons on a card; Quartermaster carries approved changes out through the Anthropic Admin API and reports back. Members, workspaces and API keys can be listed, and the approval policy shown; /qm usage shows usage and cost from the usage report and the cost report. Every command and every click is checked against the caller's Anthropic org role (never the Slack role) and written to an append-only audit log.",
      background_color: '#1f2937',
    },
    features: {
      bot_user: { display_name: 'Quartermaster', always_online: true },
      slash_commands: [
        {
          command: SLASH_COMMAND,
          url: events,
          description: 'Quartermaster: your Anthropic organization',
          usage_hint: tops.join(' | ').slice(0, 100),
          should_escape: true,
        },
      ],
    },
    oauth_config: {
      redirect_urls: [`${publicUrl}/slack/oauth_redirect`],
      scopes: { bot: [...SLACK_BOT_SCOPES] },
    },
    settings: {
      interactivity: { is_enabled: true, request_url: events },
      // With the multi-workspace OAuth install, an uninstall or a revoked token deletes the stored installation.
      event_subscriptions: {
        request_url: events,
        bot_events: ['app_uninstalled', 'tokens_revoked', ...SLACK_MESSAGE_EVENTS],
      },
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    },
  };
}
