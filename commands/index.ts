/** Every command, explicitly listed (no filesystem walking): adding one here is all it takes. */
import type { ActionDefinition } from '../src/core/command/actions.js';
import type { CommandDefinition } from '../src/core/command/define.js';
import { linkDecideAction } from '../src/core/identity/link-requests.js';
import audit from './audit.js';
import help from './help.js';
import keysList from './keys/list.js';
import link from './link.js';
import membersList from './members/list.js';
import policyShow from './policy/show.js';
import unlink from './unlink.js';
import whoami from './whoami.js';
import workspacesList from './workspaces/list.js';

export const commands: readonly CommandDefinition<any>[] = [
  help,
  whoami,
  link,
  unlink,
  membersList,
  workspacesList,
  keysList,
  audit,
  policyShow,
];

/** Every button kind. */
export const actions: readonly ActionDefinition[] = [linkDecideAction];
