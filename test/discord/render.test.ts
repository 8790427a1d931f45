/**
 * A reply longer than one embed's description (4096 characters) goes on in further embeds, split between lines, and
 * nothing is lost; one longer than a message's embeds hold (6000 in all) is shortened and says so. (Help grew past
 * 4096 characters for admins; Discord refused the reply.)
 */
import { describe, expect, it } from 'vitest';
import { reply } from '../../src/core/command/reply.js';
import { renderDiscord } from '../../src/discord/render.js';

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => `line ${String(i).padStart(4, '0')} ${'x'.repeat(60)}`);
const size = (e: Record<string, unknown>) =>
  String(e.title ?? '').length +
  String(e.description ?? '').length +
  ((e.fields as { name: string; value: string }[] | undefined) ?? []).reduce(
    (n, f) => n + f.name.length + f.value.length,
    0,
  );

describe('renderDiscord', () => {
  it('keeps a short reply in one embed', () => {
    const m = renderDiscord(reply({ title: 'T', text: 'hello' }));
    expect(m.embeds).toHaveLength(1);
    expect(m.embeds[0]).toMatchObject({ title: 'T', description: 'hello' });
  });

  it('splits a reply over 4096 characters between lines into further embeds, losing nothing', () => {
    const text = lines(75); // ~5,000 characters
    const m = renderDiscord(reply({ title: 'Help', blocks: text.map((t) => ({ type: 'text' as const, text: t })) }));
    expect(m.embeds.length).toBe(2);
    for (const e of m.embeds) expect(String(e.description).length).toBeLessThanOrEqual(4096);
    expect(m.embeds.reduce((n, e) => n + size(e), 0)).toBeLessThanOrEqual(6000);
    expect(m.embeds[1]!.title).toBeUndefined();
    const shown = m.embeds.map((e) => String(e.description)).join('\n\n');
    for (const t of text) expect(shown).toContain(t);
    // Cut between lines, not inside one.
    expect(String(m.embeds[1]!.description)).toMatch(/^line \d{4} x+/);
  });

  it('shortens a reply beyond 6000 characters in all, and says so; fields go on the last embed', () => {
    const m = renderDiscord(
      reply({
        title: 'Long',
        blocks: [
          ...lines(150).map((t) => ({ type: 'text' as const, text: t })),
          { type: 'fields', fields: [{ label: 'Kind', value: 'x' }] },
        ],
      }),
    );
    const total = m.embeds.reduce((n, e) => n + size(e), 0);
    expect(total).toBeLessThanOrEqual(6000);
    for (const e of m.embeds) expect(String(e.description).length).toBeLessThanOrEqual(4096);
    expect(String(m.embeds.at(-1)!.description)).toContain('was too long for one Discord message and was shortened');
    expect(m.embeds.at(-1)!.fields).toEqual([{ name: 'Kind', value: 'x', inline: true }]);
  });
});
