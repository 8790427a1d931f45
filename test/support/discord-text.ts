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
