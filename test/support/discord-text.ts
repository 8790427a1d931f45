/** What a Discord user reads in a message: content, embed titles, descriptions, fields, and button labels. */
export function discordText(msg: any): string {
  const parts: string[] = [msg?.content ?? ''];
  for (const e of msg?.embeds ?? []) {
    if (e.title) parts.push(e.title);
    if (e.description) parts.push(e.description);
    for (const f of e.fields ?? []) parts.push(`${f.name}\n${f.value}`);
    if (e.footer?.text) parts.push(e.footer.text);
  }
  return parts.join('\n');
}

export function discordButtons(msg: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of msg?.components ?? [])
    for (const c of row.components ?? []) if (c.type === 2) out[c.label] = c.custom_id;
  return out;
}

/** The approval card the bot posted in the fake's channel since `before` (message ids seen before the command). */
export function newDiscordCard(
  d: import('../fakes/discord.js').FakeDiscord,
  before: Set<string>,
): Promise<{ card: any; id: string }> {
  return d
    .waitUntil(
      () =>
        [...d.messages.values()].find(
          (m) =>
            !before.has(m.id) &&
            m.channel_id === d.channelId &&
            (m.flags & 64) === 0 &&
            /Request [0-9A-Z]{8}/.test(discordText(m)),
        ),
      10_000,
      'the approval card',
    )
    .then((card) => ({ card, id: /Request ([0-9A-Z]{8})/.exec(discordText(card))![1]! }));
}
