/** Every command, explicitly listed (no filesystem walking): adding one here is all it takes. */
import type { CommandDefinition } from '../src/core/command/define.js';
import audit from './audit.js';
import help from './help.js';
import keysList from './keys/list.js';
import membersList from './members/list.js';
import whoami from './whoami.js';
import workspacesList from './workspaces/list.js';

export const commands: readonly CommandDefinition<any>[] = [help, whoami, membersList, workspacesList, keysList, audit];
