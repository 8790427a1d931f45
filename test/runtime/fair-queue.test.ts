/**
 * The queue commands and clicks run on keeps the event loop's I/O ahead of queued work (issue 8): a request that
 * arrives while a burst of commands is queued is taken in after at most one piece of work, not after all of them.
 * Not a timing test: it records the order in which things ran.
 */
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FairQueue, TurnGate } from '../../src/runtime/fair-queue.js';

/** Keeps the thread busy, as a command's synchronous stretch (Prisma, SQLite, rendering) does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

describe('FairQueue', () => {
  it('takes in a connection that arrived during the first piece of work before starting the next', async () => {
    const order: string[] = [];
    server = createServer((socket) => {
      order.push('connection');
      socket.end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const queue = new FairQueue();
    const owner = (userId: string) => ({ platform: 'slack' as const, teamId: 'T1', userId });
    let client: ReturnType<typeof connect> | null = null;
    const works = [1, 2, 3, 4].map((n) =>
      queue.run(owner(`U${n}`), async () => {
        order.push(`work ${n}`);
        // The first piece of work opens a connection to the server and keeps the thread busy: the connection is
        // waiting in the kernel by the time it ends.
        if (n === 1) client = connect(port, '127.0.0.1');
        busy(40);
      }),
    );
    await Promise.all(works);
    await new Promise((r) => setTimeout(r, 50));
    (client as ReturnType<typeof connect> | null)?.destroy();
    expect(order.slice(0, 1)).toEqual(['work 1']);
    // Without the turn gate all four would run back to back, and the connection would come last.
    expect(order.indexOf('connection')).toBeLessThan(order.indexOf('work 3'));
    expect(order.filter((e) => e.startsWith('work'))).toEqual(['work 1', 'work 2', 'work 3', 'work 4']);
  });

  it('still runs every piece of work, one per turn, and keeps one user in order', async () => {
    const queue = new FairQueue();
    const ran: number[] = [];
    await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        queue.run({ platform: 'slack', teamId: 'T1', userId: 'U1' }, async () => {
          ran.push(i);
        }),
      ),
    );
    expect(ran).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(queue.waiting).toBe(0);
  });
});

describe('TurnGate', () => {
  it('lets one waiter through per turn of the event loop', async () => {
    const gate = new TurnGate();
    const events: string[] = [];
    const waiters = [1, 2, 3].map((n) => gate.next().then(() => events.push(`through ${n}`)));
    // setImmediate callbacks queued now run in the same check phase as the first waiter, before the second.
    setImmediate(() => events.push('turn'));
    await Promise.all(waiters);
    expect(events[0]).toBe('through 1');
    expect(events.indexOf('turn')).toBeLessThan(events.indexOf('through 3'));
    expect(events.filter((e) => e.startsWith('through'))).toEqual(['through 1', 'through 2', 'through 3']);
  });
});
