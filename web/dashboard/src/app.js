// The research dashboard: every chart is a request to the semantic layer (POST api/dashboard/query)
// built from the filters, drawn with Vega-Lite; every chart's rows can be exported as CSV. Cells the
// API hides (small-cell suppression: too few people) come with a reason in the column `suppressed`;
// heatmaps draw them grey, and every chart lists them under it ("suppressed: fewer than 11 people").
'use strict';

const API = '../api/dashboard/';
const RESTING_EXCLUDED = ['Stand', 'Sit', 'Sleep'];
const WEEKDAYS = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const state = { meta: null, data: {}, generation: 0, views: {} };

// --- talking to the API ---------------------------------------------------------------------------
async function post(endpoint, body) {
  const res = await fetch(API + endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error || res.statusText);
  return json;
}
// {columns, rows} -> [{column: value}]
function records(table) {
  return table.rows.map(r => Object.fromEntries(table.columns.map((c, i) => [c, r[i]])));
}

// --- filters --------------------------------------------------------------------------------------
function currentFilters() {
  const f = new FormData(document.getElementById('filters'));
  const out = [];
  if (f.get('date_from')) out.push({ dimension: 'date', op: '>=', values: [f.get('date_from')] });
  if (f.get('date_to')) out.push({ dimension: 'date', op: '<=', values: [f.get('date_to')] });
  for (const d of ['region', 'country', 'sex', 'age_group', 'activity']) {
    if (f.get(d)) out.push({ dimension: d, op: '=', values: [f.get(d)] });
  }
  return out;
}
function fillSelect(select, values, labels) {
  for (let i = 0; i < values.length; i++) {
    const o = document.createElement('option');
    o.value = values[i];
    o.textContent = labels ? labels[i] : values[i];
    select.appendChild(o);
  }
}
function dimensionValues(name) {
  const d = state.meta.dimensions.find(x => x.name === name);
  return d ? d.values : [];
}

// --- charts ---------------------------------------------------------------------------------------
const seq = { scheme: 'reds' };
const CHARTS = {
  blood_race: {
    request: { metrics: ['avg_heart_rate', 'readings'], by: ['blood_type', 'race'] },
    spec: () => ({
      mark: 'rect',
      encoding: {
        x: { field: 'race', type: 'nominal', title: 'Race' },
        y: { field: 'blood_type', type: 'nominal', title: 'Blood type' },
        color: { field: 'avg_heart_rate', type: 'quantitative', title: 'Avg HR', scale: seq },
        tooltip: [{ field: 'blood_type' }, { field: 'race' }, { field: 'avg_heart_rate', title: 'Avg HR' }, { field: 'readings' }],
      },
    }),
  },
  exercise_sex: {
    request: { metrics: ['avg_heart_rate'], by: ['activity', 'sex'], filters: [{ dimension: 'activity', op: '!=', values: RESTING_EXCLUDED }] },
    spec: () => ({
      mark: 'bar',
      encoding: {
        y: { field: 'activity', type: 'nominal', title: null, sort: '-x' },
        yOffset: { field: 'sex' },
        x: { field: 'avg_heart_rate', type: 'quantitative', title: 'Average heart rate (bpm)' },
        color: { field: 'sex', type: 'nominal', title: 'Sex' },
        tooltip: [{ field: 'activity' }, { field: 'sex' }, { field: 'avg_heart_rate', title: 'Avg HR' }],
      },
    }),
  },
  europe_map: {
    request: { metrics: ['avg_heart_rate', 'users', 'readings'], by: ['country_numeric', 'country_name'], filters: [{ dimension: 'region', op: '=', values: ['Europe'] }] },
    spec: rows => ({
      width: 900, height: 560,
      projection: { type: 'conicConformal', rotate: [-12, 0], center: [0, 54], parallels: [40, 65], scale: 700 },
      layer: [
        { data: { url: 'map/countries-50m.json', format: { type: 'topojson', feature: 'countries' } },
          mark: { type: 'geoshape', fill: '#e3e5ea', stroke: '#fff', strokeWidth: 0.5, clip: true } },
        { data: { url: 'map/countries-50m.json', format: { type: 'topojson', feature: 'countries' } },
          transform: [{ lookup: 'id', from: { data: { values: rows }, key: 'country_numeric', fields: ['avg_heart_rate', 'country_name', 'users', 'readings'] } },
                      { filter: 'datum.avg_heart_rate != null' }],
          mark: { type: 'geoshape', stroke: '#fff', strokeWidth: 0.5, clip: true },
          encoding: {
            color: { field: 'avg_heart_rate', type: 'quantitative', title: 'Avg HR', scale: seq },
            tooltip: [{ field: 'country_name', title: 'Country' }, { field: 'avg_heart_rate', title: 'Avg HR' }, { field: 'users' }, { field: 'readings' }],
          } },
      ],
    }),
    inlineData: false,
  },
  q1_age: {
    request: { metrics: ['avg_heart_rate'], by: ['activity', 'age_group'] },
    spec: () => ({
      mark: 'rect',
      encoding: {
        x: { field: 'age_group', type: 'ordinal', title: 'Age group' },
        y: { field: 'activity', type: 'nominal', title: null },
        color: { field: 'avg_heart_rate', type: 'quantitative', title: 'Avg HR', scale: seq },
        tooltip: [{ field: 'activity' }, { field: 'age_group' }, { field: 'avg_heart_rate', title: 'Avg HR' }],
      },
    }),
  },
  q1_region: {
    request: { metrics: ['avg_heart_rate'], by: ['activity', 'subregion'] },
    spec: () => ({
      mark: 'rect',
      encoding: {
        x: { field: 'subregion', type: 'nominal', title: 'Region' },
        y: { field: 'activity', type: 'nominal', title: null },
        color: { field: 'avg_heart_rate', type: 'quantitative', title: 'Avg HR', scale: seq },
        tooltip: [{ field: 'activity' }, { field: 'subregion' }, { field: 'avg_heart_rate', title: 'Avg HR' }],
      },
    }),
  },
  q1_sex: {
    request: { metrics: ['avg_heart_rate', 'resting_heart_rate'], by: ['age_group', 'sex'] },
    spec: () => ({
      transform: [{ fold: ['avg_heart_rate', 'resting_heart_rate'], as: ['measure', 'bpm'] }],
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'age_group', type: 'ordinal', title: 'Age group' },
        y: { field: 'bpm', type: 'quantitative', title: 'Heart rate (bpm)', scale: { zero: false } },
        color: { field: 'sex', type: 'nominal' },
        strokeDash: { field: 'measure', type: 'nominal', title: 'Measure' },
        tooltip: [{ field: 'age_group' }, { field: 'sex' }, { field: 'measure' }, { field: 'bpm' }],
      },
    }),
  },
  q2_month: {
    request: { metrics: ['resting_heart_rate', 'resting_readings'], by: ['year', 'month', 'hemisphere'] },
    spec: () => ({
      transform: [{ filter: 'datum.resting_heart_rate != null' }],
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'month', type: 'ordinal', title: 'Month' },
        y: { field: 'resting_heart_rate', type: 'quantitative', title: 'Resting heart rate (bpm)', scale: { zero: false } },
        color: { field: 'hemisphere', type: 'nominal' },
        strokeDash: { field: 'year', type: 'nominal', title: 'Year' },
        tooltip: [{ field: 'year' }, { field: 'month' }, { field: 'hemisphere' }, { field: 'resting_heart_rate', title: 'Resting HR' }, { field: 'resting_readings' }],
      },
    }),
  },
  q2_week: {
    request: { metrics: ['resting_heart_rate'], by: ['week', 'subregion'] },
    spec: () => ({
      transform: [{ filter: 'datum.resting_heart_rate != null' }],
      mark: { type: 'line' },
      encoding: {
        x: { field: 'week', type: 'quantitative', title: 'ISO week' },
        y: { field: 'resting_heart_rate', type: 'quantitative', title: 'Resting heart rate (bpm)', scale: { zero: false } },
        color: { field: 'subregion', type: 'nominal', title: 'Region' },
        tooltip: [{ field: 'week' }, { field: 'subregion' }, { field: 'resting_heart_rate', title: 'Resting HR' }],
      },
    }),
  },
  q3_hour: {
    request: { metrics: ['activity_minutes'], by: ['subregion', 'local_hour', 'activity'] },
    spec: () => ({
      transform: [{ joinaggregate: [{ op: 'sum', field: 'activity_minutes', as: 'total' }], groupby: ['subregion', 'local_hour'] },
                  { calculate: 'datum.activity_minutes / datum.total', as: 'likelihood' }],
      facet: { row: { field: 'subregion', type: 'nominal', title: null } },
      spec: {
        width: 900, height: 90,
        mark: 'bar',
        encoding: {
          x: { field: 'local_hour', type: 'ordinal', title: 'Local hour of day' },
          y: { field: 'likelihood', type: 'quantitative', title: 'Share', stack: 'normalize', axis: { format: '%' } },
          color: { field: 'activity', type: 'nominal', scale: { scheme: 'category20' } },
          tooltip: [{ field: 'subregion' }, { field: 'local_hour' }, { field: 'activity' }, { field: 'likelihood', format: '.1%' }],
        },
      },
    }),
  },
  q3_weekday: {
    request: { metrics: ['activity_minutes'], by: ['local_weekday', 'activity'], filters: [{ dimension: 'activity', op: '!=', values: RESTING_EXCLUDED }] },
    note: 'Stand, Sit and Sleep left out so that the activities chosen for the day show.',
    spec: () => ({
      transform: [{ joinaggregate: [{ op: 'sum', field: 'activity_minutes', as: 'total' }], groupby: ['local_weekday'] },
                  { calculate: 'datum.activity_minutes / datum.total', as: 'likelihood' },
                  { calculate: "['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][datum.local_weekday]", as: 'weekday' }],
      mark: 'bar',
      encoding: {
        x: { field: 'weekday', type: 'ordinal', sort: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], title: 'Local weekday' },
        y: { field: 'likelihood', type: 'quantitative', stack: 'normalize', title: 'Share', axis: { format: '%' } },
        color: { field: 'activity', type: 'nominal', scale: { scheme: 'category20' } },
        tooltip: [{ field: 'weekday' }, { field: 'activity' }, { field: 'likelihood', format: '.1%' }],
      },
    }),
  },
};

function card(id) { return document.querySelector(`[data-chart="${id}"]`); }
function setState(id, s, rows) {
  const c = card(id);
  c.dataset.state = s;
  if (rows !== undefined) c.dataset.rows = rows;
}
function showError(id, err) {
  const c = card(id);
  let e = c.querySelector('.error');
  if (!e) { e = document.createElement('p'); e.className = 'error'; c.appendChild(e); }
  e.textContent = String(err.message || err);
  setState(id, 'error', 0);
}
function ensureParts(id) {
  const c = card(id);
  if (!c.querySelector('.export')) {
    const b = document.createElement('button');
    b.className = 'export';
    b.type = 'button';
    b.textContent = 'Export CSV';
    b.addEventListener('click', () => exportCsv(id));
    c.appendChild(b);
  }
  let v = c.querySelector('.view');
  if (!v && id !== 'tiles' && id !== 'predictor') {
    v = document.createElement('div');
    v.className = 'view';
    c.appendChild(v);
    if (CHARTS[id] && CHARTS[id].note) {
      const n = document.createElement('p'); n.className = 'note'; n.textContent = CHARTS[id].note; c.appendChild(n);
    }
  }
  return v;
}

// --- CSV export: the rows the chart was drawn from ----------------------------------------------------
function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function exportCsv(id) {
  const t = state.data[id];
  if (!t) return;
  const lines = [t.columns.map(csvField).join(',')].concat(t.rows.map(r => r.map(csvField).join(',')));
  const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `hrflow-${id}.csv`;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// --- suppressed cells -------------------------------------------------------------------------------
function suppressionNote(id, rows, dims) {
  const c = card(id);
  let list = c.querySelector('.suppressed');
  const hidden = rows.filter(r => r.suppressed);
  if (!hidden.length) { if (list) list.remove(); return; }
  if (!list) { list = document.createElement('ul'); list.className = 'suppressed'; c.appendChild(list); }
  list.innerHTML = '';
  list.dataset.count = String(hidden.length);
  const shown = 12;
  for (const r of hidden.slice(0, shown)) {
    const li = document.createElement('li');
    const where = dims.map(d => r[d] === null ? 'unknown' : String(r[d])).join(' · ');
    li.textContent = (where ? where + ': ' : '') + 'suppressed: ' + r.suppressed;
    list.appendChild(li);
  }
  if (hidden.length > shown) {
    const li = document.createElement('li');
    li.textContent = `… and ${hidden.length - shown} more cells suppressed`;
    list.appendChild(li);
  }
}
// A heatmap (one rect per cell): hidden cells drawn grey with the reason as their tooltip.
function withSuppressedCells(spec) {
  if (spec.mark !== 'rect' || !spec.encoding) return spec;
  const { x, y } = spec.encoding;
  const grey = {
    transform: [{ filter: 'datum.suppressed != null' }, { calculate: "'suppressed: ' + datum.suppressed", as: 'note' }],
    mark: { type: 'rect', fill: '#d5d8de' },
    encoding: { x, y, tooltip: [{ field: y.field }, { field: x.field }, { field: 'note', title: 'Hidden' }] },
  };
  const cells = { transform: [{ filter: 'datum.suppressed == null' }], mark: spec.mark, encoding: spec.encoding };
  const rest = Object.assign({}, spec);
  delete rest.mark; delete rest.encoding;
  return Object.assign(rest, { layer: [grey, cells] });
}

// --- drawing ----------------------------------------------------------------------------------------
async function drawChart(id, generation, filters) {
  const def = CHARTS[id];
  const view = ensureParts(id);
  setState(id, 'loading');
  try {
    const req = Object.assign({}, def.request, { filters: (def.request.filters || []).concat(filters) });
    const table = await post('query', req);
    if (generation !== state.generation) return;
    state.data[id] = table;
    const rows = records(table);
    const spec = Object.assign({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 'container', autosize: { type: 'fit-x', contains: 'padding' } },
                               withSuppressedCells(def.spec(rows.filter(r => !r.suppressed))));
    if (def.inlineData !== false) spec.data = { values: rows };
    if (spec.facet || spec.projection) { delete spec.width; delete spec.autosize; }
    if (state.views[id]) state.views[id].finalize();
    const result = await vegaEmbed(view, spec, { renderer: 'svg', actions: false });
    state.views[id] = result.view;
    suppressionNote(id, rows, def.request.by || []);
    const old = card(id).querySelector('.error');
    if (old) old.remove();
    setState(id, 'ready', table.rows.length);
  } catch (err) {
    if (generation === state.generation) showError(id, err);
  }
}

async function drawTiles(generation, filters) {
  ensureParts('tiles');
  setState('tiles', 'loading');
  try {
    const table = await post('query', { metrics: ['readings', 'users', 'countries', 'avg_heart_rate'], filters });
    if (generation !== state.generation) return;
    state.data.tiles = table;
    const row = records(table)[0] || {};
    suppressionNote('tiles', records(table), []);
    for (const el of document.querySelectorAll('#tiles [data-metric]')) {
      const v = row[el.dataset.metric];
      el.textContent = v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US');
      el.dataset.value = v === null || v === undefined ? '' : String(v);
    }
    setState('tiles', 'ready', table.rows.length);
  } catch (err) {
    if (generation === state.generation) showError('tiles', err);
  }
}

// --- question 3: the predictor ---------------------------------------------------------------------------
async function drawPredictor(generation, filters) {
  ensureParts('predictor');
  setState('predictor', 'loading');
  try {
    const res = await post('predictor', { filters });
    if (generation !== state.generation) return;
    state.data.predictor = res.probabilities;
    state.predictor = records(res.probabilities);
    const sel = document.querySelector('#predict-form [name=subregion]');
    const keep = sel.value;
    sel.innerHTML = '';
    const regions = [...new Set(state.predictor.map(r => r.subregion))].sort();
    fillSelect(sel, regions);
    if (regions.includes(keep)) sel.value = keep;
    const e = res.evaluation || {};
    const pct = x => (x === null || x === undefined) ? 'n/a' : (100 * x).toFixed(1) + '%';
    document.getElementById('evaluation').textContent = e.held_out_minutes
      ? `Over ${Number(e.held_out_minutes).toLocaleString('en-US')} held-out minutes of activity (about one local day in five, ` +
        `never used for learning) the most likely activity was the one being done ${pct(e.accuracy)} of the time ` +
        `(top 3: ${pct(e.top3_accuracy)}); always guessing the most common activity (${e.baseline_activity}) is right ${pct(e.baseline_accuracy)}.`
      : 'Not enough data for a held-out evaluation with these filters.';
    document.getElementById('evaluation').dataset.accuracy = e.accuracy ?? '';
    document.getElementById('evaluation').dataset.baseline = e.baseline_accuracy ?? '';
    showPrediction();
    setState('predictor', 'ready', res.probabilities.rows.length);
  } catch (err) {
    if (generation === state.generation) showError('predictor', err);
  }
}
function showPrediction() {
  const f = new FormData(document.getElementById('predict-form'));
  const region = f.get('subregion'), weekday = Number(f.get('weekday')), hour = Number(f.get('hour'));
  const list = document.getElementById('prediction');
  list.innerHTML = '';
  const rows = (state.predictor || []).filter(r => r.subregion === region && r.local_weekday === weekday && r.local_hour === hour)
    .sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity)).slice(0, 5);
  if (!rows.length) { list.innerHTML = '<li>No data for this region, weekday and hour.</li>'; return; }
  for (const r of rows) {
    const li = document.createElement('li');
    li.textContent = r.suppressed ? `${r.activity}: suppressed: ${r.suppressed}` : `${r.activity}: ${(100 * r.probability).toFixed(1)}%`;
    list.appendChild(li);
  }
}

// --- refresh everything when a filter changes -----------------------------------------------------------
async function refresh() {
  const generation = ++state.generation;
  const filters = currentFilters();
  const status = document.getElementById('status');
  status.textContent = 'Loading…';
  const started = performance.now();
  await Promise.all([drawTiles(generation, filters), drawPredictor(generation, filters)]
    .concat(Object.keys(CHARTS).map(id => drawChart(id, generation, filters))));
  if (generation === state.generation) {
    status.textContent = `Updated in ${Math.round(performance.now() - started)} ms` + (filters.length ? ` · ${filters.length} filter(s)` : '');
    document.body.dataset.generation = String(generation);
  }
}

async function start() {
  try {
    const res = await fetch(API + 'meta');
    state.meta = await res.json();
    if (!res.ok) throw new Error(state.meta.error || res.statusText);
  } catch (err) {
    document.getElementById('status').textContent = 'Cannot load the dashboard: ' + (err.message || err);
    return;
  }
  const form = document.getElementById('filters');
  const o = state.meta.options;
  const countries = records(o.countries);
  fillSelect(form.region, [...new Set(countries.map(c => c.region).filter(Boolean))].sort());
  fillSelect(form.country, countries.map(c => c.code), countries.map(c => `${c.name} (${c.code})`));
  fillSelect(form.sex, dimensionValues('sex'));
  fillSelect(form.age_group, dimensionValues('age_group'));
  fillSelect(form.activity, o.activity);
  if (o.date_min) { form.date_from.min = form.date_to.min = o.date_min; }
  if (o.date_max) { form.date_from.max = form.date_to.max = o.date_max; }
  form.addEventListener('change', refresh);
  form.addEventListener('reset', () => setTimeout(refresh, 0));
  document.getElementById('predict-form').addEventListener('change', showPrediction);
  document.getElementById('predict-form').addEventListener('input', showPrediction);
  refresh();
}
start();
