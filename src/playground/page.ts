/**
 * The playground page (plain HTML, the browser's own elements, fetch and EventSource; no framework) and the plain
 * status page `/` shows instead when a real organization is configured.
 */
import { readFileSync } from 'node:fs';
import { PLAYGROUND_MEMBERS } from './members.js';
import { escapeHtml } from './render.js';

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1d1c1d;height:100vh;display:flex;flex-direction:column}
header{background:#3f0e40;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
header h1{font-size:1.1em;margin:0}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,24em);gap:1em;padding:1em;flex:1;min-height:0}
section{background:#fff;border-radius:6px;padding:.8em;display:flex;flex-direction:column;min-height:0}
section h2{margin:0 0 .3em;font-size:1em}
#channel,#dms{flex:1;overflow:auto}
.msg{overflow-wrap:anywhere;border-left:4px solid #ccc;padding:.3em .7em;margin:.6em 0;background:#fafafa}
.msg.success{border-color:#2e7d32}.msg.error{border-color:#c62828}.msg.warning{border-color:#ef6c00}.msg.info{border-color:#1565c0}
.msg .who{font-size:.8em;color:#616061}
.msg.ephemeral{background:#fffbe6}
.msg h3{font-size:1em;margin:.2em 0}
.context{color:#616061;font-size:.9em}
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(12em,1fr));gap:.3em;margin:.3em 0}
dt{font-weight:600;font-size:.85em}dd{margin:0}
button.primary{background:#007a5a;color:#fff;border:0;padding:.35em .9em;border-radius:4px}
button.danger{background:#c62828;color:#fff;border:0;padding:.35em .9em;border-radius:4px}
button{cursor:pointer;margin-right:.4em}
form#command{display:flex;gap:.5em;margin-top:.6em}
form#command input{flex:1;font:inherit;padding:.4em}
code{background:#eee;padding:0 .2em;border-radius:3px}
img{max-width:100%}
.hidden{display:none}
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const member = $('#member');
const show = () => {
  for (const el of document.querySelectorAll('.msg[data-to]')) {
    el.classList.toggle('hidden', el.dataset.to !== member.value);
  }
};
member.addEventListener('change', show);
const post = async (path, body) => {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const out = await res.json().catch(() => ({}));
  $('#status').textContent = res.ok ? '' : (out.message || 'Refused (' + res.status + ')');
  return out;
};
$('#command').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('#text');
  const text = input.value;
  input.value = '';
  await post('/playground/command', { member: member.value, text });
});
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  await post('/playground/click', { member: member.value, actionId: b.dataset.action, messageId: b.dataset.message });
});
$('#clock').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = await post('/playground/clock', { minutes: Number($('#minutes').value) * 60 });
  if (out.now) $('#now').textContent = 'Simulated time: ' + out.now;
});
$('#faults').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = await post('/playground/faults', { fault: $('#fault').value });
  $('#now').textContent = 'Faults pending: ' + out.pending;
});
const names = Object.fromEntries([...member.options].map((o) => [o.value, o.dataset.name]));
const events = new EventSource('/playground/events');
events.addEventListener('message', (e) => {
  const m = JSON.parse(e.data);
  let el = document.getElementById(m.id);
  if (!el) {
    el = document.createElement('article');
    el.id = m.id;
    (m.where === 'dm' ? $('#dms') : $('#channel')).append(el);
  }
  el.className = 'msg ' + m.tone + ' ' + m.where;
  el.dataset.version = m.version;
  if (m.where !== 'channel') el.dataset.to = m.to;
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = m.where === 'ephemeral' ? 'Only ' + names[m.to] + ' sees this'
    : m.where === 'dm' ? 'Direct message to ' + names[m.to]
    : 'Quartermaster' + (m.to ? ' (for ' + names[m.to] + ')' : '');
  const body = document.createElement('div');
  body.className = 'body';
  // Rendered and escaped on the server (src/playground/render.ts).
  body.innerHTML = m.html;
  el.replaceChildren(who, body);
  show();
  const list = m.where === 'dm' ? $('#dms') : $('#channel');
  if (m.version === 1) list.scrollTop = list.scrollHeight;
});
`;

export function playgroundPage(orgName: string): string {
  const options = PLAYGROUND_MEMBERS.map(
    (m) =>
      `<option value="${escapeHtml(m.id)}" data-name="${escapeHtml(m.name)}">${escapeHtml(`${m.name} (${m.role})`)}</option>`,
  ).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Quartermaster playground</title><style>${STYLE}</style></head>
<body>
<header><h1>Quartermaster playground: ${escapeHtml(orgName)}</h1>
<label>You are <select id="member">${options}</select></label>
<form id="clock"><label>Move the clock <input id="minutes" type="number" min="1" max="720" value="1" size="3"> h</label> <button>Forward</button></form>
<form id="faults"><label>Admin API fault <select id="fault"><option value="429">429 rate limited</option><option value="500">500 error</option><option value="slow">slow (3 s)</option><option value="clear">none</option></select></label> <button>Apply</button></form>
<span id="now"></span>
</header>
<main>
<section aria-label="channel"><h2>#playground</h2><div id="channel"></div>
<form id="command"><input id="text" name="text" autocomplete="off" placeholder="/qm help" aria-label="command"><button>Send</button></form>
<p id="status" role="status"></p></section>
<section aria-label="direct messages"><h2>Direct messages</h2><div id="dms"></div></section>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}

export interface StatusFacts {
  version: string;
  adminApi: string;
  database: string;
  slack: string;
  discord: string;
}

/** `/` with a real organization: what is configured (never a secret), where to go next, nothing from the org. */
export function statusPage(f: StatusFacts): string {
  const row = (k: string, v: string) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quartermaster</title></head>
<body><h1>Quartermaster ${escapeHtml(f.version)}</h1>
<p>Quartermaster is running. It is used from Slack and Discord with <code>/qm</code>.</p>
<table>${row('Anthropic Admin API', f.adminApi)}${row('Database', f.database)}${row('Slack', f.slack)}${row('Discord', f.discord)}</table>
<ul>
<li><a href="/healthz">/healthz</a> and <a href="/readyz">/readyz</a></li>
<li>Slack app manifest: <code>npx quartermaster manifest slack</code> (manifest/slack.json); Discord commands: <code>npx quartermaster manifest discord</code></li>
<li>Documentation: README.md and docs/ in the Quartermaster repository</li>
</ul>
<p>The playground is only served with the built-in simulated organization (no ANTHROPIC_ADMIN_KEY).</p>
</body></html>`;
}

/** The version in package.json (two levels up, here and in the bundle's dist/app/). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '';
  }
}
