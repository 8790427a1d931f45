/**
 * The digest message for one UTC day, as posted to a channel (with the cost chart when a renderer is built in)
 * or shown as a preview (text only).
 */
import { md, type Reply, reply } from '../command/reply.js';
import type { Services } from '../services.js';

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export async function composeDigest(_services: Services, day: Date, _o: { chart: boolean }): Promise<Reply> {
  return reply({
    visibility: 'in_channel',
    title: `Claude usage digest for ${isoDay(day)}`,
    text: `Spend for ${md.code(isoDay(day))}.`,
  });
}
