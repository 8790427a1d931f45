/**
 * `link PLATFORM TEAM_ID USER_ID EMAIL`: each argument checked against the shape of its platform's ids, so a
 * swapped or mistyped argument is refused with a sentence that names it, instead of linking nobody.
 */

const SLACK_TEAM = /^T[A-Z0-9]{5,20}$/;
const SLACK_USER = /^[UW][A-Z0-9]{5,20}$/;
const SNOWFLAKE = /^\d{17,20}$/;
const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

interface Shape {
  test(value: string): boolean;
  describe: string;
}

const SHAPES: Record<'slack' | 'discord', { team: Shape; user: Shape }> = {
  slack: {
    team: {
      test: (v) => SLACK_TEAM.test(v),
      describe: 'a Slack team id: T followed by capital letters and digits, like T0123ABCD',
    },
    user: {
      test: (v) => SLACK_USER.test(v),
      describe: 'a Slack user id: U or W followed by capital letters and digits, like U0123ABCD',
    },
  },
  discord: {
    team: {
      test: (v) => SNOWFLAKE.test(v),
      describe: 'a Discord server id: 17 to 20 digits, like 1400000000000000100',
    },
    user: { test: (v) => SNOWFLAKE.test(v), describe: 'a Discord user id: 17 to 20 digits, like 1400000000000000200' },
  },
};

/** The sentence saying which argument is wrong and what it should look like; null when all are fine. */
export function checkLinkArguments(platform: string, teamId: string, userId: string, email: string): string | null {
  if (platform !== 'slack' && platform !== 'discord') {
    return `PLATFORM must be slack or discord, not "${platform}".`;
  }
  const { team, user } = SHAPES[platform];
  if (!team.test(teamId) && !user.test(userId) && team.test(userId) && user.test(teamId)) {
    return `TEAM_ID and USER_ID look swapped: "${teamId}" is a user id and "${userId}" a team id. TEAM_ID comes first.`;
  }
  if (!team.test(teamId)) return `TEAM_ID "${teamId}" is not ${team.describe}.`;
  if (!user.test(userId)) return `USER_ID "${userId}" is not ${user.describe}.`;
  if (!EMAIL.test(email)) return `EMAIL "${email}" is not an email address (like alice@example.com).`;
  return null;
}
