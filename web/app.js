// hrflow web UI: asset graph, materialize, runs, automation decisions. Polls the JSON API.
'use strict';
const GROUPS = ['lake', 'raw', 'seeds', 'staging', 'serving'];
const params = new URLSearchParams(location.search);
const token = params.get('token') || sessionStorage.getItem('hrflow-token') || '';
if (token) sessionStorage.setItem('hrflow-token', token);
let assets = [];
let selected = null;

async function api(path, body) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const init = body ? { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : { headers };
  const res = await fetch(path, init);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const slug = s => s.replace(/\s+/g, '-');
const when = ms => ms ? new Date(ms).toLocaleString() : 'never';
const dur = ms => ms == null ? '' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';

function renderGraph() {
  const graph = document.getElementById('graph');
  graph.replaceChildren();
  const cols = el('div', { class: 'columns' });
  const nodes = {};
  for (const g of GROUPS) {
    const members = assets.filter(a => a.group === g);
    if (!members.length) continue;
    const col = el('div', { class: 'column', 'data-group': g }, el('h3', {}, g));
    for (const a of members) {
      const n = el('button', { class: `node s-${slug(a.state)}` + (a.key === selected ? ' selected' : ''),
        'data-asset': a.key, 'data-state': a.state, title: a.why, onclick: () => select(a.key) },
        el('span', { class: 'key' }, a.key), el('span', { class: 'state' }, a.state));
      nodes[a.key] = n;
      col.append(n);
    }
    cols.append(col);
  }
  graph.append(cols);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'edges');
  const box = graph.getBoundingClientRect();
  svg.setAttribute('width', graph.scrollWidth);
  svg.setAttribute('height', graph.scrollHeight);
  for (const a of assets) {
    for (const d of a.deps) {
      if (!nodes[d] || !nodes[a.key]) continue;
      const s = nodes[d].getBoundingClientRect(), t = nodes[a.key].getBoundingClientRect();
      const x1 = s.right - box.left, y1 = s.top + s.height / 2 - box.top, x2 = t.left - box.left, y2 = t.top + t.height / 2 - box.top;
      const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
      const mx = (x1 + x2) / 2;
      p.setAttribute('d', `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      svg.append(p);
    }
  }
  graph.prepend(svg);
}

function renderDetail() {
  const a = assets.find(x => x.key === selected);
  const d = document.getElementById('detail');
  d.hidden = !a;
  if (!a) return;
  document.getElementById('d-key').textContent = a.key;
  document.getElementById('d-state').textContent = a.state;
  document.getElementById('d-why').textContent = a.why;
  const svc = a.service;
  document.getElementById('d-policy').textContent = !a.source ? a.policy.describe
    : !svc ? 'fed by the sink service'
    : `fed by the sink service: ${svc.state}` + (svc.restarts ? `, restarted ${svc.restarts}×` : '') +
      (svc.last_error ? ` (last error: ${svc.last_error})` : '');
  document.getElementById('d-deps').textContent = a.deps.join(', ') || '—';
  document.getElementById('d-last').textContent = when(a.last_success_ms);
  document.getElementById('materialize').disabled = a.source;
  document.getElementById('materialize-upstream').disabled = a.source;
}

function select(key) { selected = key; renderGraph(); renderDetail(); }

async function materialize(upstream) {
  const msg = document.getElementById('d-message');
  try {
    const r = await api('/api/materialize', { assets: [selected], upstream });
    msg.textContent = 'queued: ' + r.planned.join(', ');
    refresh();
  } catch (e) { msg.textContent = e.message; }
}

async function showRun(id) {
  const r = await api('/api/runs/' + id);
  const pre = document.getElementById('run-log');
  pre.hidden = false;
  pre.textContent = `run ${r.id} of ${r.asset} — ${r.outcome}\n${r.trigger}: ${r.reason}\n` + (r.error ? 'error: ' + r.error + '\n' : '') + '\n' + (r.log || '(no log)');
}

async function refresh() {
  try {
    const [a, runs, decisions] = await Promise.all([api('/api/assets'), api('/api/runs?limit=50'), api('/api/decisions?limit=100')]);
    assets = a;
    renderGraph();
    renderDetail();
    const counts = {};
    for (const x of assets) counts[x.state] = (counts[x.state] || 0) + 1;
    document.getElementById('summary').textContent = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(' · ');
    const tbody = document.querySelector('#runs tbody');
    tbody.replaceChildren(...runs.map(r => el('tr', { 'data-run': r.id, onclick: () => showRun(r.id) },
      el('td', {}, r.id), el('td', {}, r.asset), el('td', { title: r.reason }, r.trigger),
      el('td', { class: 'o-' + slug(r.outcome), title: r.error }, r.outcome), el('td', {}, when(r.started_ms)),
      el('td', {}, dur(r.duration_ms)), el('td', {}, r.rows))));
    document.getElementById('decisions').replaceChildren(...decisions.map(d => el('li', { class: d.launch ? 'launch' : 'skip' },
      `${new Date(d.at_ms).toLocaleTimeString()} ${d.asset}: ${d.launch ? 'run' : 'skipped'} (${d.trigger}) — ${d.reason}`)));
    document.getElementById('error').textContent = '';
  } catch (e) {
    document.getElementById('error').textContent = 'cannot reach hrflow serve: ' + e.message;
  }
}

document.getElementById('materialize').addEventListener('click', () => materialize(false));
document.getElementById('materialize-upstream').addEventListener('click', () => materialize(true));
refresh();
setInterval(refresh, 1000);
