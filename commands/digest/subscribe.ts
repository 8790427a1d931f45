import { z } from 'zod';
import { defineCommand } from '../../src/core/command/define.js';
import { md, reply } from '../../src/core/command/reply.js';
import { DomainError } from '../../src/core/errors.js';
import { canonicalTimeZone, describeSchedule, parseTime, WEEKDAYS } from '../../src/core/spend/digest-schedule.js';

export default defineCommand({
  path: ['digest', 'subscribe'],
  description: "Post the spend digest to this channel every day or every week (yesterday's cost, with a chart)",
  access: 'digests:manage',
  options: z.object({
    cadence: z.enum(['daily', 'weekly']).optional().describe('daily (default) or weekly'),
    time: z.string().max(20).optional().describe('Local time to post at, HH:MM on a 24-hour clock (default 09:00)'),
    timezone: z.string().max(100).optional().describe('IANA time zone of that time, e.g. Europe/Berlin (default UTC)'),
    day: z.enum(WEEKDAYS).optional().describe('Day of a weekly digest: mon (default) … sun'),
  }),
  positional: ['cadence', 'time', 'timezone'],
  examples: [
    'digest subscribe',
    'digest subscribe daily 09:00 Europe/Berlin',
    'digest subscribe weekly 08:30 UTC day:fri',
  ],
  async handler({ options, caller, services, invocation }) {
    const cadence = options.cadence ?? 'daily';
    const time = parseTime(options.time ?? '09:00');
    if (!time) {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.code(options.time ?? '')} is not a time: give it as HH:MM on a 24-hour clock, e.g. ${md.code('09:00')} or ${md.code('17:30')}.`,
      );
    }
    const timezone = canonicalTimeZone(options.timezone ?? 'UTC');
    if (!timezone) {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.code(options.timezone ?? '')} is not a time zone: give an IANA name such as ${md.code('Europe/Berlin')}, ${md.code('America/New_York')} or ${md.code('UTC')}.`,
      );
    }
    if (options.day && cadence !== 'weekly') {
      throw new DomainError(
        'INVALID_INPUT',
        `${md.code('day')} is for weekly digests; a daily digest is posted every day.`,
      );
    }
    if (!invocation.channelId)
      throw new DomainError('INVALID_INPUT', 'Run this command in the channel the digest should go to.');
    const weekday = options.day ? WEEKDAYS.indexOf(options.day) + 1 : 1;
    const { subscription, created } = await services.store.digests.subscribe(
      {
        platform: invocation.platform,
        teamId: invocation.teamId,
        channelId: invocation.channelId,
        cadence,
        time,
        timezone,
        weekday,
        createdBy: caller.orgUser!.id,
      },
      services.clock.now(),
    );
    const when = describeSchedule(subscription);
    return reply({
      tone: 'success',
      title: created ? 'Digest subscribed' : 'Digest schedule changed',
      text: `This channel gets the spend digest ${md.bold(when)}: the last complete day's cost and tokens against the 7-day average, month to date and the forecast, the top workspaces, keys and models, with a chart of the last 30 days. Everyone who can read this channel will see the organization's costs, key names and member e-mails: keep it to people who may.`,
      blocks: [
        {
          type: 'context',
          text: `${md.code(`${invocation.commandText.replace(/ digest subscribe$/, '')} digest preview`)} shows it now; ${md.code(`${invocation.commandText.replace(/ digest subscribe$/, '')} digest unsubscribe ${cadence}`)} stops it.`,
        },
      ],
      summary: `Digest ${created ? 'subscribed' : 'changed'}: ${when}`,
    });
  },
});
