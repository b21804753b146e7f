// The rechist dashboard: a record list, a chart drawn here as SVG, live
// updates from /api/stream. Every URL is relative, so the page works under
// any prefix the handler is mounted at. The fragment keeps what is shown
// (#record=...&field=...&range=...), so a link reopens the same chart and
// back and forward step through the choices; no server sees it.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const MAX_POINTS = 1000;
const WIDTHS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5,
  18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5, 2592e6, 31536e6];
// The ranges of the range menu, by their name in the fragment.
const RANGES = { "1h": 36e5, "1d": 864e5, "7d": 6048e5, "30d": 2592e6, "1y": 31536e6 };
const DEFAULT_RANGE = "1d";
// The chart's text, in CSS pixels: the SVG's user units are its pixels.
const FONT = 12;
const UNIT_MS = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, mo: 2629746e3, y: 31556952e3 };
// The time axis' tick steps: the smallest that leaves room for its labels
// is taken, and ticks fall on round local times (whole minutes, hours
// divisible by the step, midnights, Mondays, the first of a month).
// Every other day counts days since 1970, so its ticks are evenly spaced.
const TICK_STEPS = [["s", 1], ["s", 5], ["s", 10], ["s", 15], ["s", 30], ["m", 1], ["m", 2], ["m", 5], ["m", 10],
  ["m", 15], ["m", 30], ["h", 1], ["h", 2], ["h", 3], ["h", 6], ["h", 12], ["d", 1], ["d", 2], ["d", 7], ["mo", 1], ["mo", 3],
  ["mo", 6], ["y", 1], ["y", 2], ["y", 5], ["y", 10], ["y", 20], ["y", 50], ["y", 100]]
  .map(([unit, n]) => ({ unit, n, ms: n * UNIT_MS[unit], name: n + unit }));

const state = {
  token: sessionStorage.getItem("rechist.token") || "",
  pattern: "*",
  rows: new Map(), // name -> {ts, payload}; payload null: history in rollup tiers only
  info: new Map(), // name -> /api/records line: first, last, tiers_ms, fields
  infoLoaded: Promise.resolve(),
  selected: "",
  field: "",
  range: null, // {start, end, live}
  every: 0,
  buckets: [],
  tierMs: 0, // the rollup tier that served the chart (0: raw rows)
  source: null,
  started: false, // the list of state.pattern was loaded
  loading: 0, // counts chart loads: an answer for an older one is dropped
};

// The token may come in the fragment (#token=...), which no server sees;
// it is kept for the session and taken out of the address.
{
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.has("token")) {
    state.token = p.get("token");
    sessionStorage.setItem("rechist.token", state.token);
    p.delete("token");
    history.replaceState(null, "", location.pathname + location.search + (p.size ? "#" + prettyParams(p) : ""));
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

const pad = (n, w = 2) => String(n).padStart(w, "0");

function fmtDate(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function fmtTime(ms) {
  const d = new Date(ms);
  return `${fmtDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// zoneOf names the browser's time zone at ms as an offset from UTC:
// "UTC", "UTC+1", "UTC-3:30".
function zoneOf(ms) {
  const off = -new Date(ms).getTimezoneOffset();
  if (off === 0) return "UTC";
  const a = Math.abs(off);
  return `UTC${off < 0 ? "-" : "+"}${Math.floor(a / 60)}${a % 60 ? ":" + pad(a % 60) : ""}`;
}

// zoneSpan is the zone over a range: one offset, or both when a change of
// daylight saving time falls within it.
function zoneSpan(start, end) {
  const a = zoneOf(start), b = zoneOf(end);
  return a === b ? a : `${a} to ${b}`;
}

function fmtNum(v) {
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : String(Math.round(v * 1000) / 1000);
}

// fmtValue writes a stored number as it is, unless it is long.
function fmtValue(v) {
  const s = String(v);
  return s.length <= 10 ? s : String(Number(v.toPrecision(8)));
}

// fmtDur writes a bucket or tier width: "5 s", "2 min", "12 h", "7 d".
function fmtDur(ms) {
  for (const [u, w] of [["d", 864e5], ["h", 36e5], ["min", 6e4], ["s", 1e3]]) {
    if (ms >= w && ms % w === 0) return `${ms / w} ${u}`;
  }
  return `${fmtNum(ms / 1000)} s`;
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

// prettyParams writes fragment parameters with ":" and "/" as they are
// (URLSearchParams escapes them; a fragment need not).
function prettyParams(p) {
  return p.toString().replace(/%3A/gi, ":").replace(/%2F/gi, "/");
}

// ---- the record list ----

async function loadList() {
  const pattern = state.pattern;
  const q = await api("api/query?limit=1&pattern=" + encodeURIComponent(pattern));
  state.rows = new Map();
  for (const r of q.records) state.rows.set(r.topic, r);
  renderList();
  $("empty").hidden = q.records.length > 0;
  state.infoLoaded = loadInfo(pattern).catch(showError);
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
  $("at-head").textContent = `At (${zoneOf(Date.now())})`;
  $("at-head").title = "times in " + zoneName();
  const tbody = $("records").tBodies[0];
  tbody.replaceChildren();
  for (const name of [...state.rows.keys()].sort()) tbody.append(listRow(name));
}

// localBucketStart is the start of the bucket of width every (an hour or
// more) that holds t, on the browser's wall clock, as tz= places it.
function localBucketStart(t, every) {
  const off = -new Date(t).getTimezoneOffset() * 60000;
  const wall = Math.floor((t + off) / every) * every;
  return wall - -new Date(wall - off).getTimezoneOffset() * 60000;
}

function zoneName() {
  const iana = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const off = zoneOf(Date.now());
  return iana && iana !== "UTC" && iana !== "Etc/UTC" ? `${iana} (${off})` : off;
}

// valueCell shows a value's numbers readably ("celsius 21.5 · humidity
// 63"), then its other fields as JSON; the raw JSON is the cell's title.
function valueCell(td, payload) {
  td.className = "value";
  if (payload === null) {
    td.textContent = "(rolled up)";
    td.title = "raw rows are gone; rollup tiers keep this record's history";
    return;
  }
  const raw = JSON.stringify(payload);
  td.title = raw;
  const nums = [], others = [];
  const walk = (v, path) => {
    if (typeof v === "number") nums.push([path, fmtValue(v)]);
    else if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? path + "." + k : k);
    } else others.push([path, JSON.stringify(v)]);
  };
  walk(payload, "");
  if (!nums.length) {
    td.textContent = raw;
    return;
  }
  [...nums, ...others].forEach(([path, text], i) => {
    if (i) td.append(Object.assign(document.createElement("span"), { className: "sep", textContent: " · " }));
    if (path) td.append(path + " ");
    td.append(Object.assign(document.createElement("span"), { className: i < nums.length ? "num" : "other", textContent: text }));
  });
}

function listRow(name) {
  const r = state.rows.get(name);
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  if (name === state.selected) tr.classList.add("selected");
  const rec = document.createElement("td");
  rec.textContent = name;
  const value = document.createElement("td");
  valueCell(value, r.payload);
  const at = document.createElement("td");
  at.className = "at";
  const [date, time] = fmtTime(r.ts).split(" ");
  at.append(Object.assign(document.createElement("span"), { className: "date", textContent: date }), " ",
    Object.assign(document.createElement("span"), { className: "time", textContent: time }));
  tr.append(rec, value, at);
  tr.addEventListener("click", () => {
    select(name);
    pushURL();
    // One column (a phone): the chart is below the list.
    if (matchMedia("(max-width: 52rem)").matches) $("detail").scrollIntoView({ block: "start" });
  });
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

// ---- the address: what is shown, in the fragment ----

// urlParams is the fragment for what the page shows now.
function urlParams() {
  const p = new URLSearchParams();
  if (state.pattern !== "*") p.set("pattern", state.pattern);
  if (state.selected) {
    p.set("record", state.selected);
    p.set("field", state.field);
  }
  const r = $("range").value;
  if (r !== DEFAULT_RANGE || state.selected) p.set("range", r);
  const from = new Date($("from").value).getTime(), to = new Date($("to").value).getTime();
  if (r === "custom" && from <= to) {
    p.set("from", isoUTC(from));
    p.set("to", isoUTC(to));
  }
  return p;
}

function isoUTC(ms) {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

// pushURL adds a history entry for what the page shows, unless the
// address says so already.
function pushURL() {
  const p = urlParams();
  const url = location.pathname + location.search + (p.size ? "#" + prettyParams(p) : "");
  if (url !== location.pathname + location.search + location.hash) history.pushState(null, "", url);
}

// applyURL shows what the fragment names: the pattern, the range, the
// record and its field. On load and on back and forward.
async function applyURL() {
  const p = new URLSearchParams(location.hash.slice(1));
  const pattern = p.get("pattern") || "*";
  let range = p.get("range") || DEFAULT_RANGE;
  if (!(range in RANGES) && range !== "all" && range !== "custom") range = DEFAULT_RANGE;
  const from = Date.parse(p.get("from") ?? ""), to = Date.parse(p.get("to") ?? "");
  if (range === "custom" && !(from <= to)) range = DEFAULT_RANGE;
  $("range").value = range;
  $("custom").hidden = range !== "custom";
  if (range === "custom") {
    $("from").value = isoLocal(from);
    $("to").value = isoLocal(to);
  }
  if (pattern !== state.pattern || !state.started) {
    $("pattern").value = pattern;
    await start();
    if (!state.started) return;
  }
  const record = p.get("record");
  if (!record) {
    deselect();
    return;
  }
  // A record left in its tiers is listed, and a long range's tiers are
  // known, once /api/records answered.
  if (!state.rows.has(record) || range === "all" || (RANGES[range] ?? Infinity) >= RANGES["7d"]) await state.infoLoaded;
  select(record, p.get("field"));
}

// isoLocal is ms as a datetime-local input's value, in the browser's zone.
function isoLocal(ms) {
  const d = new Date(ms);
  return `${fmtDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// ---- the chart ----

function deselect() {
  state.selected = "";
  state.range = null;
  state.loading++;
  for (const tr of $("records").tBodies[0].rows) tr.classList.remove("selected");
  $("hint").hidden = false;
  $("chosen").hidden = true;
}

// select shows a record's chart: of field when given (from the address),
// else of the field chosen before if the record has it, else its first.
function select(name, field) {
  state.selected = name;
  for (const tr of $("records").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.name === name);
  $("hint").hidden = true;
  $("chosen").hidden = false;
  $("name").textContent = name;
  const row = state.rows.get(name);
  const fields = row && row.payload !== null ? numericFields(row.payload) : state.info.get(name)?.fields ?? [];
  if (field != null && !fields.includes(field)) fields.push(field);
  const sel = $("field");
  sel.replaceChildren();
  for (const f of fields) {
    const o = document.createElement("option");
    o.value = f;
    o.textContent = f === "" ? "(the value)" : f;
    sel.append(o);
  }
  state.field = field != null ? field : fields.includes(state.field) ? state.field : fields[0] ?? "";
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
    return { start: end - RANGES[v], end, live: true };
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
  const load = ++state.loading;
  const range = currentRange();
  const every = bucketWidth(range.end - range.start, tierFor(state.selected, range.end - range.start));
  // Buckets of an hour or more follow the browser's wall clock (tz=: a
  // day starts at local midnight); finer ones are aligned to the epoch. A
  // start on a bucket's edge lets a tier answer the first bucket too.
  const tz = every >= 3600000 ? Intl.DateTimeFormat().resolvedOptions().timeZone || "" : "";
  range.start = tz ? localBucketStart(range.start, every) : Math.floor(range.start / every) * every;
  const q = new URLSearchParams({ pattern: state.selected, field: state.field, every: every + "ms",
    start: range.start, end: range.end });
  if (tz) q.set("tz", tz);
  let series;
  try {
    series = await api("api/aggregate?" + q);
  } catch (err) {
    // Raw rows gone and the zone's offset not whole tier buckets
    // (Asia/Kathmandu and an hourly tier): the tier's own UTC buckets.
    if (!tz || !/do not each fall within one bucket/.test(err.message)) throw err;
    q.delete("tz");
    range.start = Math.floor(range.start / every) * every;
    q.set("start", range.start);
    series = await api("api/aggregate?" + q);
  }
  if (load !== state.loading) return;
  const mine = series.find((s) => s.name === state.selected);
  state.range = range;
  state.every = every;
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

// textWidth estimates the width of chart text of n characters (digits,
// mostly) at FONT pixels.
const textWidth = (n) => n * FONT * 0.62;

// floorTick is the last round local time of step at or before ms.
function floorTick(ms, { unit, n }) {
  const d = new Date(ms);
  switch (unit) {
    case "s": d.setMilliseconds(0); d.setSeconds(d.getSeconds() - (d.getSeconds() % n)); break;
    case "m": d.setSeconds(0, 0); d.setMinutes(d.getMinutes() - (d.getMinutes() % n)); break;
    case "h": d.setMinutes(0, 0, 0); d.setHours(d.getHours() - (d.getHours() % n)); break;
    case "d":
      d.setHours(0, 0, 0, 0);
      if (n === 7) d.setDate(d.getDate() - ((d.getDay() + 6) % 7)); // Monday
      else d.setDate(d.getDate() - (dayNumber(d) % n));
      break;
    case "mo": d.setHours(0, 0, 0, 0); d.setDate(1); d.setMonth(d.getMonth() - (d.getMonth() % n)); break;
    case "y": d.setHours(0, 0, 0, 0); d.setMonth(0, 1); d.setFullYear(d.getFullYear() - (d.getFullYear() % n)); break;
  }
  return d.getTime();
}

// dayNumber counts the local days from 1970-01-01 to d's.
const dayNumber = (d) => Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 864e5);

// nextTick is the round local time one step after ms, a round time. Hours,
// days and months are counted on the local clock, so a change of daylight
// saving time keeps them round: an hour that the clock skips is no tick,
// one that it repeats is two.
function nextTick(ms, { unit, n }) {
  const d = new Date(ms);
  switch (unit) {
    case "s": return ms + n * 1e3;
    case "m": return ms + n * 6e4;
    case "h":
      for (let t = ms + 36e5; ; t += 36e5) {
        const h = new Date(t);
        if (h.getMinutes() === 0 && h.getHours() % n === 0) return t;
      }
    case "d": d.setDate(d.getDate() + n); break;
    case "mo": d.setMonth(d.getMonth() + n); break;
    case "y": d.setFullYear(d.getFullYear() + n); break;
  }
  return d.getTime();
}

// tickLabel is a tick's text: line 1 at every tick, line 2 (the date, or
// the year) where it differs from the previous tick's.
function tickLabel(t, prev, unit) {
  const d = new Date(t), p = prev === undefined ? null : new Date(prev);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  switch (unit) {
    case "s":
    case "m":
    case "h": {
      const line2 = !p || fmtDate(p) !== fmtDate(d) ? fmtDate(d) : "";
      return [unit === "s" ? `${hm}:${pad(d.getSeconds())}` : hm, line2];
    }
    case "d": return [`${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, !p || p.getFullYear() !== d.getFullYear() ? String(d.getFullYear()) : ""];
    case "mo": return [`${d.getFullYear()}-${pad(d.getMonth() + 1)}`, ""];
    default: return [String(d.getFullYear()), ""];
  }
}

const LABEL_CHARS = { s: 8, m: 5, h: 5, d: 5, mo: 7, y: 4 };

// timeTicks picks the time axis' step, the smallest of TICK_STEPS whose
// labels fit width pixels, and its ticks within [start, end].
function timeTicks(start, end, width) {
  const span = Math.max(1, end - start);
  let step = TICK_STEPS[TICK_STEPS.length - 1];
  for (const s of TICK_STEPS) {
    if (span / s.ms <= Math.max(1, width / (textWidth(LABEL_CHARS[s.unit]) + 16))) {
      step = s;
      break;
    }
  }
  const ticks = [];
  let t = floorTick(start, step);
  if (t < start) t = nextTick(t, step);
  for (; t <= end && ticks.length < 1000; ) {
    ticks.push(t);
    const next = nextTick(t, step);
    t = next > t ? next : t + step.ms;
  }
  return { step, ticks };
}

// runsOf splits buckets where the data has a gap: consecutive buckets
// further apart than 1.5 times the usual distance between buckets (the
// bucket width, or the median distance when values come more seldom than
// buckets), so a missing bucket or a missing value breaks the line.
function runsOf(bs, every) {
  if (!bs.length) return [];
  const dists = [];
  for (let i = 1; i < bs.length; i++) dists.push(bs[i].start - bs[i - 1].start);
  dists.sort((a, b) => a - b);
  const usual = Math.max(every, dists.length ? dists[Math.floor(dists.length / 2)] : every);
  const runs = [[bs[0]]];
  for (let i = 1; i < bs.length; i++) {
    if (bs[i].start - bs[i - 1].start > 1.5 * usual) runs.push([]);
    runs[runs.length - 1].push(bs[i]);
  }
  return runs;
}

function drawChart() {
  const svg = $("chart");
  const bs = state.buckets;
  if (!state.range) return;
  const { start, end } = state.range;
  const empty = !bs.length;
  svg.toggleAttribute("hidden", empty);
  $("nodata").hidden = !empty;
  $("legend").hidden = empty;
  svg.dataset.every = state.every;
  svg.dataset.tier = state.tierMs;
  if (empty) {
    svg.replaceChildren();
    noData(start, end);
    return;
  }
  // The SVG's units are its CSS pixels, so its text is FONT pixels high
  // whatever the page's width.
  const W = svg.clientWidth, H = svg.clientHeight;
  if (!W || !H) return;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();

  let lo = Infinity, hi = -Infinity;
  for (const b of bs) { lo = Math.min(lo, b.min); hi = Math.max(hi, b.max); }
  if (lo === hi) { lo -= 1; hi += 1; }
  const PAD = { t: FONT + 14, r: 10, b: 2 * FONT + 14 };
  // Round grid values (1, 2 or 5 times a power of ten), one about every
  // 40 pixels, and the value axis widened to whole steps.
  const step = niceStep((hi - lo) / Math.max(2, Math.floor((H - PAD.t - PAD.b) / 40)));
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const values = [];
  for (let i = 0; lo + i * step <= hi + step / 2; i++) values.push(lo + i * step);
  const labels = values.map((v) => fmtNum(Number(v.toPrecision(12))));
  PAD.l = Math.ceil(textWidth(Math.max(...labels.map((s) => s.length)))) + 12;
  const pw = W - PAD.l - PAD.r, ph = H - PAD.t - PAD.b;
  svg.dataset.plotWidth = pw;
  const x = (t) => PAD.l + ((t - start) / Math.max(1, end - start)) * pw;
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo)) * ph;

  values.forEach((v, i) => {
    svg.append(el("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
    svg.append(el("text", { class: "value", x: PAD.l - 6, y: y(v) + FONT / 3, "text-anchor": "end" }, labels[i]));
  });
  // The value axis' label, the field's name, and the zone of the times.
  svg.append(el("text", { class: "label", id: "value-label", x: 4, y: FONT + 2 }, state.field === "" ? "value" : state.field));
  svg.append(el("text", { class: "zone", id: "zone-label", x: W - PAD.r, y: FONT + 2, "text-anchor": "end" },
    "times in " + zoneSpan(start, end)));

  const { step: tstep, ticks } = timeTicks(start, end, pw);
  svg.dataset.tickStep = tstep.name;
  const base = H - PAD.b;
  svg.append(el("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: base, y2: base }));
  let prev;
  const dates = [];
  for (const t of ticks) {
    const [line1, line2] = tickLabel(t, prev, tstep.unit);
    prev = t;
    const half = textWidth(line1.length) / 2;
    const tx = Math.min(Math.max(x(t), half), W - half);
    svg.append(el("line", { class: "grid", x1: x(t), x2: x(t), y1: PAD.t, y2: base + 4 }));
    svg.append(el("text", { class: "tick", "data-t": t, x: tx, y: base + FONT + 4, "text-anchor": "middle" }, line1));
    if (line2) dates.push({ x: x(t), text: line2, first: t === ticks[0] });
  }
  // Dates where the day changes first, then the first tick's, each only
  // where it does not overlap another.
  dates.sort((a, b) => a.first - b.first);
  const placed = [];
  for (const d of dates) {
    const w = textWidth(d.text.length), left = Math.min(Math.max(d.x - w / 2, 0), W - w);
    if (placed.some(([l, r]) => left < r + 8 && left + w > l - 8)) continue;
    placed.push([left, left + w]);
    svg.append(el("text", { class: "date", x: left, y: base + 2 * FONT + 8 }, d.text));
  }

  // The line and the band, broken where the data has a gap; a bucket
  // alone between gaps is a dot.
  const mid = (b) => x(b.start + state.every / 2).toFixed(1);
  const runs = runsOf(bs, state.every);
  let band = "", mean = "";
  for (const run of runs) {
    band += run.map((b, i) => `${i ? "L" : "M"}${mid(b)},${y(b.max).toFixed(1)}`).join("") +
      run.slice().reverse().map((b) => `L${mid(b)},${y(b.min).toFixed(1)}`).join("") + "Z";
    if (run.length > 1) mean += run.map((b, i) => `${i ? "L" : "M"}${mid(b)},${y(b.mean).toFixed(1)}`).join("");
  }
  svg.append(el("path", { class: "band", id: "band", d: band }));
  svg.append(el("path", { class: "mean", id: "mean", d: mean, "data-points": bs.length, "data-runs": runs.length }));
  for (const run of runs) {
    if (run.length === 1) svg.append(el("circle", { class: "dot", cx: mid(run[0]), cy: y(run[0].mean).toFixed(1), r: 2.5 }));
  }
  const n = bs.reduce((a, b) => a + b.count, 0);
  const gaps = runs.length - 1;
  $("legend").textContent = `${bs.length} buckets of ${fmtDur(state.every)}, ${n} values` +
    ` of ${state.field === "" ? "the value" : "field " + state.field}; line: mean, band: min to max` +
    (gaps ? `; ${gaps} gap${gaps > 1 ? "s" : ""} in the data` : "") +
    (state.tierMs ? `; from the ${fmtDur(state.tierMs)} rollup tier` : "") + `; times in ${zoneName()}`;
}

// noData says that the range holds no values, and when the record last
// had one, with a button to a range of the same length that holds it.
function noData(start, end) {
  const name = state.selected;
  const last = Math.max(state.rows.get(name)?.ts ?? -Infinity, state.info.get(name)?.last ?? -Infinity);
  const what = state.field === "" ? "values" : `values of ${state.field}`;
  const jump = $("jump");
  jump.hidden = true;
  let text = `No data in this range (${fmtTime(start)} to ${fmtTime(end)}, ${zoneSpan(start, end)}): no ${what}.`;
  if (isFinite(last)) {
    const when = `${fmtTime(last)} (${zoneOf(last)})`;
    if (last >= start && last <= end) {
      text += ` ${name} last had data at ${when}, but not for this field.`;
    } else {
      text += ` ${name} last had data at ${when}.`;
      jump.hidden = false;
      const named = $("range").value in RANGES;
      const span = named ? RANGES[$("range").value] : end - start;
      const label = named ? $("range").selectedOptions[0].textContent.replace(/^last /, "the ") : fmtDur(Math.round(span / 1000) * 1000);
      jump.textContent = `Show ${label} up to ${fmtTime(last)}`;
      // The same span, ending a little after the newest value, in whole
      // seconds (the custom range's inputs hold seconds).
      const to = Math.ceil((last + Math.max(1000, span / 50)) / 1000) * 1000;
      jump.dataset.from = Math.floor((to - span) / 1000) * 1000;
      jump.dataset.to = to;
    }
  }
  $("nodata-text").textContent = text;
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
    state.started = false;
    await loadList();
    state.started = true;
    showError(null);
    connect();
  } catch (err) {
    showError(err);
  }
}

$("filter").addEventListener("submit", async (e) => {
  e.preventDefault();
  await start();
  pushURL();
});
$("auth").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("token").value;
  sessionStorage.setItem("rechist.token", state.token);
  $("auth").hidden = true;
  state.started = false;
  applyURL().catch(showError);
});
$("field").addEventListener("change", () => {
  state.field = $("field").value;
  loadChart().catch(showError);
  pushURL();
});
$("range").addEventListener("change", () => {
  const custom = $("range").value === "custom";
  $("custom").hidden = !custom;
  if (custom) {
    const end = state.range ? state.range.end : Date.now();
    const start = state.range ? state.range.start : end - 86400000;
    $("to").value = isoLocal(end);
    $("from").value = isoLocal(start);
    return;
  }
  loadChart().catch(showError);
  pushURL();
});
$("apply").addEventListener("click", () => {
  loadChart().then(pushURL, showError);
});
$("jump").addEventListener("click", () => {
  $("range").value = "custom";
  $("custom").hidden = false;
  $("from").value = isoLocal(Number($("jump").dataset.from));
  $("to").value = isoLocal(Number($("jump").dataset.to));
  loadChart().then(pushURL, showError);
});
window.addEventListener("popstate", () => applyURL().catch(showError));
new ResizeObserver(() => drawChart()).observe($("chart"));
applyURL().catch(showError);
