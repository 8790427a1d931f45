/** Every command, explicitly listed (no filesystem walking): adding one here is all it takes. */

import { approvalVoteAction } from '../src/core/approvals/engine.js';
import type { ActionDefinition } from '../src/core/command/actions.js';
import type { CommandDefinition } from '../src/core/command/define.js';
import { linkDecideAction } from '../src/core/identity/link-requests.js';
import { LEAK_ACTIONS } from '../src/core/leaks/incidents.js';
import { disableKeyAction } from '../src/core/limits/anomalies.js';
import alertsAutomod from './alerts/automod.js';
import audit from './audit.js';
import digestPreview from './digest/preview.js';
import digestSubscribe from './digest/subscribe.js';
import digestUnsubscribe from './digest/unsubscribe.js';
import help from './help.js';
import incidentsClose from './incidents/close.js';
import incidentsList from './incidents/list.js';
import keysList from './keys/list.js';
import keysRename from './keys/rename.js';
import keysRequest from './keys/request.js';
import keysRotate from './keys/rotate.js';
import { keysArchive, keysDisable, keysEnable } from './keys/status.js';
import limitsClear from './limits/clear.js';
import limitsRate from './limits/rate.js';
import limitsSet from './limits/set.js';
import limitsShow from './limits/show.js';
import link from './link.js';
import membersInvite from './members/invite.js';
import membersList from './members/list.js';
import membersRole from './members/role.js';
import policyShow from './policy/show.js';
import requestsCancel from './requests/cancel.js';
import requestsList from './requests/list.js';
import unlink from './unlink.js';
import usage from './usage.js';
import whoami from './whoami.js';
import workspacesAddMember from './workspaces/add-member.js';
import workspacesArchive from './workspaces/archive.js';
import workspacesCreate from './workspaces/create.js';
import workspacesList from './workspaces/list.js';
import workspacesRemoveMember from './workspaces/remove-member.js';

export const commands: readonly CommandDefinition<any>[] = [
  help,
  whoami,
  link,
  unlink,
  membersList,
  membersRole,
  membersInvite,
  workspacesList,
  workspacesCreate,
  workspacesArchive,
  workspacesAddMember,
  workspacesRemoveMember,
  keysList,
  keysRequest,
  keysRotate,
  keysDisable,
  keysEnable,
  keysArchive,
  keysRename,
  audit,
  policyShow,
  requestsList,
  requestsCancel,
  digestSubscribe,
  digestUnsubscribe,
  digestPreview,
  usage,
  limitsSet,
  limitsShow,
  limitsClear,
  limitsRate,
  incidentsList,
  incidentsClose,
  alertsAutomod,
];

/** Every button kind. */
export const actions: readonly ActionDefinition[] = [
  linkDecideAction,
  approvalVoteAction,
  disableKeyAction,
  ...LEAK_ACTIONS,
];
