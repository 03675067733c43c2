// The Weft console: one ES module, no dependencies. Every API call sends
// the token kept in sessionStorage (entered once, or passed as #token=...).
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const KEY = 'weft-console-token';

const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get('token')) {
  sessionStorage.setItem(KEY, hash.get('token'));
  history.replaceState(null, '', location.pathname + location.search);
}

class Unauthorized extends Error {}

async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: { Authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || '') } });
  if (res.status === 401) throw new Unauthorized(await res.text());
  return res;
}
async function json(path) {
  const res = await api(path);
  if (!res.ok) throw new Error(path + ': ' + res.status + ' ' + (await res.text()));
  return res.json();
}

function showLogin(msg) {
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = msg || '';
  $('#token').focus();
}
$('#login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $('#token').value.trim());
  start();
});
$('#logout').addEventListener('click', () => { sessionStorage.removeItem(KEY); stopTail(); showLogin(); });
for (const b of document.querySelectorAll('nav button')) {
  b.addEventListener('click', () => {
    for (const x of document.querySelectorAll('nav button')) x.classList.toggle('on', x === b);
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== b.dataset.view;
    if (b.dataset.view === 'catalog') loadCatalog();
  });
}

// ---- topology ----
const COLW = 255, NODEW = 215, NODEH = 48, GAP = 8, TOP = 30;
const HEADS = ['Sources', 'Brokers and channels', 'Triggers and subscriptions', 'Subscribers and dead-letter sinks'];
let graphText = '', graph = null, statEls = new Map(), countEls = new Map(), selected = '';

function render(g) {
  const pos = new Map(), rows = [0, 0, 0, 0];
  for (const n of g.nodes) {
    const r = rows[n.col]++;
    pos.set(n.id, { x: 10 + n.col * COLW, y: TOP + r * (NODEH + GAP) });
  }
  const h = TOP + Math.max(1, ...rows) * (NODEH + GAP);
  const parts = [];
  HEADS.forEach((t, i) => parts.push(`<text class="colhead" x="${10 + i * COLW}" y="18">${t}</text>`));
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODEW, y1 = a.y + NODEH / 2, x2 = b.x, y2 = b.y + NODEH / 2;
    const d = x2 > x1
      ? `M${x1},${y1} C${x1 + 40},${y1} ${x2 - 40},${y2} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + 60},${y1} ${x1 + 60},${y2 + NODEH} ${x2 + NODEW / 2},${y2 + NODEH}`;
    parts.push(`<path class="edge${e.deadLetter ? ' dl' : ''}" d="${d}"/>`);
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const kind = n.kind || 'external';
    const status = n.ready ? `${n.ready === 'True' ? 'Ready' : 'Not ready'}${n.reason ? ': ' + n.reason : ''}` : '';
    parts.push(`<g class="node${n.id === selected ? ' sel' : ''}" data-id="${esc(n.id)}" data-kind="${esc(n.kind)}" data-ready="${esc(n.ready)}" transform="translate(${p.x},${p.y})">` +
      `<title>${esc(n.namespace ? n.namespace + '/' : '')}${esc(n.name)}${n.message ? '\n' + esc(n.message) : ''}</title>` +
      `<rect width="${NODEW}" height="${NODEH}"/>` +
      `<circle class="dot-${n.ready || 'ext'}" cx="10" cy="11" r="4"/>` +
      `<text class="k" x="20" y="14">${esc(kind)}${n.namespace ? ' · ' + esc(n.namespace) : ''}</text>` +
      `<text x="10" y="29">${esc(n.name.length > 28 ? n.name.slice(0, 27) + '…' : n.name)}</text>` +
      `<text class="s" x="${NODEW - 6}" y="14" text-anchor="end" data-stat="${esc(n.id)}">${esc(status)}</text>` +
      `<text class="s" x="10" y="42" data-counts="${esc(n.id)}"></text></g>`);
  }
  const svg = $('#graph');
  svg.setAttribute('width', 10 + 4 * COLW);
  svg.setAttribute('height', h);
  svg.innerHTML = parts.join('');
  statEls = new Map();
  for (const el of svg.querySelectorAll('[data-stat]')) statEls.set(el.dataset.stat, el);
  countEls = new Map();
  for (const el of svg.querySelectorAll('[data-counts]')) countEls.set(el.dataset.counts, el);
  const counts = {};
  for (const n of g.nodes) counts[n.kind || 'external'] = (counts[n.kind || 'external'] || 0) + 1;
  $('#summary').textContent = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(' · ');
  fillTailTargets(g);
  if (!svg.dataset.rendered) {
    svg.dataset.renderMs = String(Math.round(performance.now()));
    svg.dataset.rendered = '1';
  }
  svg.dataset.version = String(g.version);
}

$('#graph').addEventListener('click', (e) => {
  const g = e.target.closest('.node');
  if (!g || !g.dataset.kind) return;
  selected = g.dataset.id;
  for (const x of document.querySelectorAll('.node.sel')) x.classList.remove('sel');
  g.classList.add('sel');
  const [kind, ns, name] = g.dataset.id.split('/');
  showDetail(kind, ns, name);
  if (kind === 'Broker' || kind === 'Channel') {
    $('#tail-target').value = g.dataset.id;
  }
});

async function loadGraph() {
  const res = await api('/v1/console/graph');
  if (!res.ok) throw new Error('graph: ' + res.status);
  const text = await res.text();
  if (text === graphText) return;
  graphText = text;
  graph = JSON.parse(text);
  render(graph);
}

async function loadStats() {
  const s = await json('/v1/console/stats');
  $('#stats-note').textContent = 'Trigger figures: ' + s.note + (s.error ? ' (error: ' + s.error + ')' : '');
  for (const [id, t] of Object.entries(s.triggers)) {
    const el = statEls.get(id);
    if (!el) continue;
    const bits = [];
    if (t.rate != null) bits.push(t.rate.toFixed(1) + '/s');
    if (t.lag != null) bits.push('lag ' + t.lag);
    if (t.healthy === 'False') bits.push('failing');
    el.textContent = bits.join(' · ') || el.textContent;
    const c = t.counts, cel = countEls.get(id);
    if (c && cel) {
      // The dispatchers' counters: delivered, failed attempts, dead letters
      // (and drops where there were any).
      const parts = [`${c.delivered} delivered`, `${c.failed} failed`, `${c.deadLettered} dead-lettered`];
      if (c.dropped) parts.push(`${c.dropped} dropped`);
      cel.classList.toggle('bad', c.failed > 0 || c.deadLettered > 0 || c.dropped > 0);
      const rate = (v) => (v == null ? '–' : v.toFixed(2) + '/s');
      cel.innerHTML = `<title>failed attempts ${rate(c.failureRate)}, dead letters ${rate(c.deadLetterRate)} (last 30 s); ` +
        `${c.rejected} rejected, ${c.deadLetterFailures} dead-letter sink failures</title>` + esc(parts.join(' · '));
    }
    if (t.problem) el.closest('.node').querySelector('title').textContent += '\n' + t.problem;
  }
}

async function showDetail(kind, ns, name) {
  const r = await json(`/v1/console/resource?kind=${encodeURIComponent(kind)}&namespace=${encodeURIComponent(ns)}&name=${encodeURIComponent(name)}`);
  $('#detail').hidden = false;
  $('#detail-title').textContent = `${r.kind} ${r.namespace}/${r.name}`;
  $('#detail-conditions').innerHTML = '<tr><th>Condition</th><th>Status</th><th>Reason / message</th></tr>' +
    r.conditions.map((c) => `<tr><td>${esc(c.type)}</td><td>${esc(c.status)}</td><td>${esc(c.reason)} ${esc(c.message)}</td></tr>`).join('');
  $('#detail-yaml').textContent = r.yaml;
}

// ---- catalog ----
async function loadCatalog() {
  const cat = await json('/v1/console/catalog');
  $('#catalog-table tbody').innerHTML = cat.map((e) => `<tr data-type="${esc(e.type)}"><td><b>${esc(e.type)}</b></td>` +
    `<td>${e.eventTypes.map((t) => `${esc(t.id)}${t.reference ? ' on ' + esc(t.reference) : ''}${t.description ? '<br><small>' + esc(t.description) + '</small>' : ''}`).join('<br>')}</td>` +
    `<td>${e.producers.map(esc).join('<br>')}</td><td>${e.consumers.map(esc).join('<br>')}</td></tr>`).join('');
}

// ---- live tail (SSE read through fetch, so the token goes in a header) ----
let tailAbort = null;
function fillTailTargets(g) {
  const sel = $('#tail-target'), cur = sel.value;
  const opts = g.nodes.filter((n) => n.kind && (n.col === 1) && /Broker|Channel/.test(n.kind));
  sel.innerHTML = opts.map((n) => `<option value="${esc(n.id)}">${esc(n.kind)} ${esc(n.namespace)}/${esc(n.name)}</option>`).join('');
  if (cur) sel.value = cur;
}
function stopTail() {
  if (tailAbort) tailAbort.abort();
  tailAbort = null;
}
function tailStatus(state, text) {
  const el = $('#tail-status');
  el.dataset.state = state;
  el.textContent = text;
}
async function startTail() {
  stopTail();
  const [kind, ns, name] = ($('#tail-target').value || '').split('/');
  if (!name) return;
  const q = new URLSearchParams({ kind: kind === 'Broker' ? 'Broker' : 'Channel', namespace: ns, name, type: $('#tail-type').value.trim(), source: $('#tail-source').value.trim() });
  const ctl = new AbortController();
  tailAbort = ctl;
  $('#tail-events').innerHTML = '';
  tailStatus('connecting', 'connecting…');
  try {
    const res = await fetch('/v1/console/tail?' + q, { signal: ctl.signal, headers: { Authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || '') } });
    if (!res.ok) { tailStatus('error', await res.text()); return; }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const msg = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let ev = 'message', data = '';
        for (const line of msg.split('\n')) {
          if (line.startsWith('event: ')) ev = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (ev === 'ready') tailStatus('ready', `live: ${ns}/${name}`);
        else if (ev === 'event') addTailEvent(JSON.parse(data));
      }
    }
    tailStatus('idle', 'stream ended');
  } catch (e) {
    if (e.name !== 'AbortError') tailStatus('error', String(e));
  }
}
function addTailEvent(e) {
  const li = document.createElement('li');
  li.dataset.id = e.id;
  li.dataset.type = e.type;
  li.innerHTML = `<b>${esc(e.type)}</b> ${esc(e.source)} <small>id ${esc(e.id)} · p${e.partition}@${e.offset}</small>\n${esc(e.data)}`;
  const list = $('#tail-events');
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
}
$('#tail-start').addEventListener('click', startTail);

// ---- start ----
let timers = [];
async function start() {
  for (const t of timers) clearInterval(t);
  timers = [];
  try {
    await loadGraph();
  } catch (e) {
    if (e instanceof Unauthorized) { showLogin(sessionStorage.getItem(KEY) ? 'the token was refused' : ''); return; }
    throw e;
  }
  $('#login').hidden = true;
  $('#app').hidden = false;
  const guard = (f) => () => f().catch((e) => { if (e instanceof Unauthorized) showLogin('the token was refused'); });
  guard(loadStats)();
  timers.push(setInterval(guard(loadGraph), 3000), setInterval(guard(loadStats), 5000));
}
if (sessionStorage.getItem(KEY)) start(); else showLogin();
