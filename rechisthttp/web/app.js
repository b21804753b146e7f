// The rechist dashboard: a record list, a chart drawn here as SVG, live
// updates from /api/stream. Every URL is relative, so the page works under
// any prefix the handler is mounted at.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const W = 900, H = 320, PAD = { l: 56, r: 12, t: 12, b: 28 };
const MAX_POINTS = 1000;
const WIDTHS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5,
  18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5, 2592e6, 31536e6];

const state = {
  token: sessionStorage.getItem("rechist.token") || "",
  pattern: "*",
  rows: new Map(), // name -> {ts, payload}; payload null: history in rollup tiers only
  info: new Map(), // name -> /api/records line: first, tiers_ms, fields
  selected: "",
  field: "",
  range: null, // {start, end, live}
  every: 0,
  buckets: [],
  tierMs: 0, // the rollup tier that served the chart (0: raw rows)
  source: null,
};

// The token may come in the fragment (#token=...), which no server sees.
{
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    state.token = decodeURIComponent(m[1]);
    sessionStorage.setItem("rechist.token", state.token);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function withToken(url) {
  return state.token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(state.token) : url;
}

async function api(path) {
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    $("auth").hidden = false;
    throw new Error("a token is required");
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function showError(err) {
  $("error").hidden = !err;
  $("error").textContent = err ? String(err.message || err) : "";
}

function fmtTime(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtNum(v) {
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : String(Math.round(v * 1000) / 1000);
}

// numericFields lists the dot paths of the numbers in a JSON value ("" for
// a value that is itself a number), as /api/aggregate's field takes them.
function numericFields(v, prefix = "", out = []) {
  if (typeof v === "number") out.push(prefix);
  else if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (!k.includes(".")) numericFields(x, prefix ? prefix + "." + k : k, out);
    }
  }
  return out;
}

function fieldOf(v, path) {
  if (path === "") return typeof v === "number" ? v : undefined;
  for (const k of path.split(".")) {
    if (!v || typeof v !== "object") return undefined;
    v = v[k];
  }
  return typeof v === "number" ? v : undefined;
}

// ---- the record list ----

async function loadList() {
  const q = await api("api/query?limit=1&pattern=" + encodeURIComponent(state.pattern));
  state.rows = new Map();
  for (const r of q.records) state.rows.set(r.topic, r);
  renderList();
  $("empty").hidden = q.records.length > 0;
  loadInfo(state.pattern).catch(showError);
}

// loadInfo adds what /api/records says (it counts rows, so it may come
// later): each record's tiers and span, and the records whose history is
// left in rollup tiers only, whose raw rows retention deleted.
async function loadInfo(pattern) {
  const lines = await api("api/records?pattern=" + encodeURIComponent(pattern));
  if (pattern !== state.pattern) return;
  state.info = new Map(lines.map((l) => [l.name, l]));
  let added = false;
  for (const l of lines) {
    if (!state.rows.has(l.name)) {
      state.rows.set(l.name, { topic: l.name, ts: l.last, payload: null });
      added = true;
    }
  }
  if (added) {
    renderList();
    $("empty").hidden = state.rows.size > 0;
  }
}

function renderList() {
  const tbody = $("records").tBodies[0];
  tbody.replaceChildren();
  for (const name of [...state.rows.keys()].sort()) tbody.append(listRow(name));
}

function listRow(name) {
  const r = state.rows.get(name);
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  if (name === state.selected) tr.classList.add("selected");
  const cells = [name, r.payload === null ? "(rolled up)" : JSON.stringify(r.payload), fmtTime(r.ts)];
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (i === 1) {
      td.className = "value";
      td.title = text;
    }
    tr.append(td);
  });
  tr.addEventListener("click", () => select(name));
  return tr;
}

function updateListRow(rec) {
  const old = state.rows.get(rec.topic);
  if (old && old.ts > rec.ts) return;
  state.rows.set(rec.topic, rec);
  const tbody = $("records").tBodies[0];
  const existing = [...tbody.rows].find((tr) => tr.dataset.name === rec.topic);
  const tr = listRow(rec.topic);
  tr.classList.add("flash");
  if (existing) existing.replaceWith(tr);
  else renderList();
  $("empty").hidden = true;
}

// ---- the chart ----

function select(name) {
  state.selected = name;
  for (const tr of $("records").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.name === name);
  $("detail").hidden = false;
  $("name").textContent = name;
  const row = state.rows.get(name);
  const fields = row && row.payload !== null ? numericFields(row.payload) : state.info.get(name)?.fields ?? [];
  const sel = $("field");
  sel.replaceChildren();
  for (const f of fields) {
    const o = document.createElement("option");
    o.value = f;
    o.textContent = f === "" ? "(the value)" : f;
    sel.append(o);
  }
  state.field = fields.includes(state.field) ? state.field : fields[0] ?? "";
  sel.value = state.field;
  loadChart().catch(showError);
}

function currentRange() {
  const v = $("range").value;
  if (v === "all") {
    const end = Date.now();
    const first = state.info.get(state.selected)?.first ?? state.rows.get(state.selected)?.ts ?? end - 86400000;
    return { start: Math.min(first, end - 1000), end, live: true };
  }
  if (v !== "custom") {
    const end = Date.now();
    return { start: end - Number(v), end, live: true };
  }
  const start = new Date($("from").value).getTime();
  const end = new Date($("to").value).getTime();
  if (!isFinite(start) || !isFinite(end) || start > end) throw new Error("choose a start before the end");
  return { start, end, live: false };
}

// bucketWidth is the smallest round width that keeps a span at most
// MAX_POINTS buckets long; a multiple of tier (a rollup tier's width)
// when one is given, so that the tier answers where raw rows are gone.
function bucketWidth(span, tier = 1) {
  for (const w of WIDTHS) if (span / w <= MAX_POINTS && w % tier === 0) return w;
  return Math.ceil(span / MAX_POINTS / tier) * tier;
}

// tierFor is the finest tier width a chart of the span must be a multiple
// of: for a long span (raw rows are likely gone) or a record with no raw
// rows left; 1 when raw rows serve.
function tierFor(name, span) {
  const info = state.info.get(name);
  if (!info || !info.tiers_ms || !info.tiers_ms.length) return 1;
  return span >= 7 * 86400000 || info.rows === 0 ? info.tiers_ms[0] : 1;
}

async function loadChart() {
  if (!state.selected) return;
  const range = currentRange();
  state.range = range;
  state.every = bucketWidth(range.end - range.start, tierFor(state.selected, range.end - range.start));
  // Buckets are aligned to the epoch: a start on a bucket's edge lets a
  // tier answer the first bucket too.
  range.start = Math.floor(range.start / state.every) * state.every;
  const q = new URLSearchParams({ pattern: state.selected, field: state.field, every: state.every + "ms",
    start: range.start, end: range.end });
  const series = await api("api/aggregate?" + q);
  const mine = series.find((s) => s.name === state.selected);
  state.buckets = (mine?.buckets ?? []).map((b) => ({ ...b }));
  state.tierMs = mine?.tier_ms ?? 0;
  const dl = new URLSearchParams({ pattern: state.selected, start: range.start, end: range.end });
  $("dl-csv").href = withToken("api/export?format=csv&" + dl);
  $("dl-jsonl").href = withToken("api/export?format=jsonl&" + dl);
  drawChart();
  showError(null);
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// niceStep returns 1, 2 or 5 times a power of ten, at least raw.
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function drawChart() {
  const svg = $("chart");
  svg.replaceChildren();
  const bs = state.buckets;
  const { start, end } = state.range;
  let lo = Infinity, hi = -Infinity;
  for (const b of bs) { lo = Math.min(lo, b.min); hi = Math.max(hi, b.max); }
  if (!bs.length) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 1; hi += 1; }
  // Round grid values (1, 2 or 5 times a power of ten), about five of
  // them, and the value axis widened to whole steps.
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const x = (t) => PAD.l + ((t - start) / Math.max(1, end - start)) * (W - PAD.l - PAD.r);
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  for (let i = 0; lo + i * step <= hi + step / 2; i++) {
    const v = lo + i * step;
    svg.append(el("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
    svg.append(el("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end" }, fmtNum(Number(v.toPrecision(12)))));
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    svg.append(el("text", { x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, fmtTime(t)));
  }
  const mid = (b) => x(b.start + state.every / 2);
  const band = bs.map((b, i) => `${i ? "L" : "M"}${mid(b).toFixed(1)},${y(b.max).toFixed(1)}`).join("") +
    bs.slice().reverse().map((b) => `L${mid(b).toFixed(1)},${y(b.min).toFixed(1)}`).join("") + (bs.length ? "Z" : "");
  const mean = bs.map((b, i) => `${i ? "L" : "M"}${mid(b).toFixed(1)},${y(b.mean).toFixed(1)}`).join("");
  svg.append(el("path", { class: "band", id: "band", d: band }));
  svg.append(el("path", { class: "mean", id: "mean", d: mean, "data-points": bs.length }));
  const n = bs.reduce((a, b) => a + b.count, 0);
  $("legend").textContent = `${bs.length} buckets of ${fmtNum(state.every / 1000)} s, ${n} values` +
    (state.field ? ` of field ${state.field}` : "") + "; line: mean, band: min to max" +
    (state.tierMs ? `; from the ${fmtNum(state.tierMs / 1000)} s rollup tier` : "");
}

// addPoint folds a live value into the chart's buckets.
function addPoint(rec) {
  if (rec.topic !== state.selected || !state.range || !state.range.live) return;
  const v = fieldOf(rec.payload, state.field);
  if (v === undefined) return;
  const now = Math.max(Date.now(), rec.ts);
  state.range.start += now - state.range.end;
  state.range.end = now;
  const start = Math.floor(rec.ts / state.every) * state.every;
  let b = state.buckets.find((b) => b.start === start);
  if (!b) {
    b = { start, count: 0, min: v, max: v, mean: 0, sum: 0, first: v, last: v };
    state.buckets.push(b);
    state.buckets.sort((a, c) => a.start - c.start);
  }
  b.count++;
  b.sum += v;
  b.mean = b.sum / b.count;
  b.min = Math.min(b.min, v);
  b.max = Math.max(b.max, v);
  b.last = v;
  state.buckets = state.buckets.filter((b) => b.start + state.every > state.range.start);
  drawChart();
}

// ---- live updates ----

function connect() {
  if (state.source) state.source.close();
  const src = new EventSource(withToken("api/stream?pattern=" + encodeURIComponent(state.pattern)));
  state.source = src;
  const live = $("live");
  src.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  src.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; };
  src.addEventListener("record", (e) => {
    const rec = JSON.parse(e.data);
    updateListRow(rec);
    addPoint(rec);
  });
  src.addEventListener("dropped", () => { live.textContent = "dropped: too slow"; });
}

async function start() {
  state.pattern = $("pattern").value || "*";
  try {
    await loadList();
    showError(null);
    connect();
  } catch (err) {
    showError(err);
  }
}

$("filter").addEventListener("submit", (e) => { e.preventDefault(); start(); });
$("auth").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value;
  sessionStorage.setItem("rechist.token", state.token);
  $("auth").hidden = true;
  start();
});
$("field").addEventListener("change", () => { state.field = $("field").value; loadChart().catch(showError); });
$("range").addEventListener("change", () => {
  const custom = $("range").value === "custom";
  $("custom").hidden = !custom;
  if (custom) {
    const iso = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
    const end = state.range ? state.range.end : Date.now();
    $("to").value = iso(end);
    $("from").value = iso(end - 86400000);
  } else loadChart().catch(showError);
});
$("apply").addEventListener("click", () => loadChart().catch(showError));
start();
