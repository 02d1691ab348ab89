// mojinet draw page: draw with mouse, touch or pen; the server reads the drawing and returns every
// layer's activations; this script draws them. Plain JavaScript, no libraries, no build step.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const PEN_WIDTH = 18;          // on the 280×280 pad: ~2 px strokes once scaled into MNIST's box
const THROTTLE_MS = 120;       // at most one prediction request per this interval while drawing
const MAX_CIRCLES = 40;        // layers up to this size are drawn as circles, larger ones as a grid
const MAX_CELLS = 1024;        // a grid shows at most this many neurons (an even subsample)
const MAX_LINES = 2000;        // draw connections between two layers up to this many weights
const MAX_BARS_ALL = 20;       // up to this many classes: a bar each; more: the top TOP_BARS
const TOP_BARS = 10;

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");

// State the tests can read: window.mojinet.version counts drawing changes; the prediction shown
// carries the version it was computed for (data-version on #prediction).
const state = {
  info: null,
  strokes: [],        // each stroke: [[x, y], …] in pad pixels
  current: null,      // the stroke being drawn
  version: 0,
  inflight: false,
  pending: false,
  lastSent: 0,
  timer: null,
  selected: null,     // {layer, neuron}
  neurons: [],        // neurons[l]: array of {el, index} per layer after the input (l = 0 → layer 1)
  lines: [],          // lines[l]: [{el, i, j, w}] between layer l and l+1 (l = 0: first hidden)
  lastResult: null,
};
window.mojinet = state;

// ------------------------------------------------------------------ drawing
function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function drawStroke(points) {
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = PEN_WIDTH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (points.length === 1) {
    ctx.beginPath();
    ctx.arc(points[0][0], points[0][1], PEN_WIDTH / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(points[0][0], points[0][1]);
  for (let k = 1; k < points.length; k++) ctx.lineTo(points[k][0], points[k][1]);
  ctx.stroke();
}

function redraw() {
  clearPad();
  for (const s of state.strokes) drawStroke(s);
  if (state.current) drawStroke(state.current);
}

function padPoint(ev) {
  const r = pad.getBoundingClientRect();
  return [(ev.clientX - r.left) * (pad.width / r.width), (ev.clientY - r.top) * (pad.height / r.height)];
}

function changed() {
  state.version += 1;
  $("undo").disabled = state.strokes.length === 0 && !state.current;
  if (state.strokes.length === 0 && !state.current) {
    showEmpty();
  } else {
    schedulePredict();
  }
}

pad.addEventListener("pointerdown", (ev) => {
  if (ev.button !== 0 && ev.pointerType === "mouse") return;
  ev.preventDefault();
  try {
    pad.setPointerCapture(ev.pointerId);  // keep the stroke going if the pointer leaves the pad
  } catch (err) {
    // A pointer that is no longer active cannot be captured; draw without capture.
  }
  state.current = [padPoint(ev)];
  redraw();
  changed();
});

pad.addEventListener("pointermove", (ev) => {
  if (!state.current) return;
  const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
  for (const e of (events.length ? events : [ev])) state.current.push(padPoint(e));
  redraw();
  changed();
});

function endStroke() {
  if (!state.current) return;
  state.strokes.push(state.current);
  state.current = null;
  redraw();
  changed();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (state.current) state.current = null; else state.strokes.pop();
  redraw();
  changed();
}
function clearAll() {
  state.strokes = [];
  state.current = null;
  redraw();
  changed();
}
$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearAll);
document.addEventListener("keydown", (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { ev.preventDefault(); undo(); }
  else if (ev.key === "Escape") clearAll();
});

// ------------------------------------------------------------------ talking to the server
function schedulePredict() {
  state.pending = true;
  pump();
}

function pump() {
  if (state.inflight || !state.pending) return;
  const wait = state.lastSent + THROTTLE_MS - performance.now();
  if (wait > 0) {
    if (!state.timer) state.timer = setTimeout(() => { state.timer = null; pump(); }, wait);
    return;
  }
  state.pending = false;
  if (state.strokes.length === 0 && !state.current) return;
  state.inflight = true;
  state.lastSent = performance.now();
  document.body.dataset.state = "busy";
  const version = state.version;
  const n = state.info.classes.length;
  const top = n <= MAX_BARS_ALL ? n : Math.max(TOP_BARS, 5);
  fetch("/api/predict", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ image: pad.toDataURL("image/png"), top }),
  })
    .then(async (r) => {
      const body = await r.json().catch(() => ({ detail: `HTTP ${r.status}` }));
      if (r.status === 503) {
        // Busy: send the drawing again once the server's Retry-After has passed.
        const seconds = Number(r.headers.get("Retry-After")) || 1;
        state.pending = true;
        state.lastSent = performance.now() + 1000 * seconds - THROTTLE_MS;
        throw new Error(`The server is busy; trying again in ${seconds} s…`);
      }
      if (!r.ok) throw new Error(body.detail || `HTTP ${r.status}`);
      return body;
    })
    .then((result) => { if (version === state.version || state.pending) show(result, version); })
    .catch((err) => showError(err.message, version))
    .finally(() => {
      state.inflight = false;
      document.body.dataset.state = "idle";
      pump();
    });
}

function showError(message, version) {
  const status = $("status");
  status.textContent = message;
  status.classList.add("error");
  $("prediction").dataset.version = String(version);
  delete $("prediction").dataset.label;
  $("best").textContent = "?";
  $("best-p").textContent = "";
  showDictionary(null);
}

// ------------------------------------------------------------------ colours
function mix(a, b, t) {
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * t)).join(",")})`;
}
const DARK = [28, 35, 48], LIT = [255, 210, 63], POS = [76, 154, 255], NEG = [255, 92, 92];

// Scale a layer's activations to [-1, 1] for display: bounded activations as they are (sigmoid,
// softmax: [0, 1]; tanh: [-1, 1]); unbounded ones (relu) relative to the layer's largest value,
// and so is a softmax over many classes (kanji), which spreads its probability thin.
function displayLevels(values, range, activation) {
  const wideSoftmax = activation === "softmax" && values.length > MAX_BARS_ALL;
  if (range[1] !== null && !wideSoftmax) return values;
  const top = Math.max(1e-9, ...values.map(Math.abs));
  return values.map((v) => v / top);
}

function neuronColour(level) {
  return level >= 0 ? mix(DARK, LIT, Math.min(1, level)) : mix(DARK, POS, Math.min(1, -level));
}

function weightColour(w, scale) {
  const t = Math.min(1, Math.abs(w) / scale);
  return w >= 0 ? mix([0, 0, 0], POS, t) : mix([0, 0, 0], NEG, t);
}

// ------------------------------------------------------------------ the diagram
function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function buildDiagram(info) {
  const diagram = $("diagram");
  diagram.innerHTML = "";
  const W = 900, H = 520, top = 34, bottom = H - 14;
  diagram.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const layers = info.sizes.slice(1);
  const inputW = 140;
  const x0 = 10 + inputW / 2;
  const usable = W - x0 - 60;   // leave room for labels on the right
  const columnX = layers.map((_, l) => x0 + usable * (l + 1) / layers.length);
  const lineGroup = svg("g", { class: "lines" }, diagram);

  // The input layer: the preprocessed image.
  svg("text", { x: x0, y: 16, "text-anchor": "middle" }, diagram).textContent =
    `input ${info.image_shape[0]}×${info.image_shape[1]} = ${info.sizes[0]}`;
  const inputImg = svg("image", { id: "diagram-input", x: x0 - inputW / 2, y: H / 2 - inputW / 2,
    width: inputW, height: inputW, preserveAspectRatio: "none" }, diagram);
  svg("rect", { x: x0 - inputW / 2, y: H / 2 - inputW / 2, width: inputW, height: inputW,
    fill: "none", stroke: "#3a465c" }, diagram);
  state.inputImage = inputImg;

  state.neurons = [];
  const positions = [];   // positions[l]: [[x, y], …] for circle layers, null for grids
  layers.forEach((n, l) => {
    const isOutput = l === layers.length - 1;
    const x = columnX[l];
    const title = `${isOutput ? "output" : `hidden ${l + 1}`}: ${n} ${info.activations[l]}`;
    svg("text", { x, y: 16, "text-anchor": "middle" }, diagram).textContent = title;
    const group = svg("g", { class: "layer", "data-layer": l + 1 }, diagram);
    const items = [];
    if (n <= MAX_CIRCLES) {
      const step = (bottom - top) / n;
      const r = Math.max(3, Math.min(11, step * 0.42));
      const pos = [];
      for (let j = 0; j < n; j++) {
        const y = top + step * (j + 0.5);
        pos.push([x, y]);
        const c = svg("circle", { class: "neuron", cx: x, cy: y, r, fill: neuronColour(0),
          "data-layer": l + 1, "data-neuron": j }, group);
        const label = isOutput ? info.classes[j] : `neuron ${j}`;
        svg("title", {}, c).textContent = `layer ${l + 1}, ${label}`;
        items.push({ el: c, index: j });
        if (isOutput) {
          const t = svg("text", { class: "class-label", x: x + r + 5, y: y + 4 }, diagram);
          t.textContent = info.classes[j];
          items[j].label = t;
        }
      }
      positions.push(pos);
    } else {
      // A grid of (a subsample of) the neurons: cells coloured by activation.
      const shown = Math.min(n, MAX_CELLS);
      const stride = n / shown;
      const colW = Math.min(150, usable / layers.length - 20);
      const cols = Math.max(1, Math.round(Math.sqrt(shown * colW / (bottom - top))));
      const rows = Math.ceil(shown / cols);
      const cell = Math.min(colW / cols, (bottom - top) / rows);
      const gx = x - (cols * cell) / 2;
      for (let k = 0; k < shown; k++) {
        const j = Math.floor(k * stride);
        const c = svg("rect", { class: "neuron", x: gx + (k % cols) * cell, y: top + Math.floor(k / cols) * cell,
          width: cell, height: cell, fill: neuronColour(0), "data-layer": l + 1, "data-neuron": j }, group);
        c.style.strokeWidth = cell > 6 ? "0.5" : "0";
        svg("title", {}, c).textContent = `layer ${l + 1}, ${isOutput ? info.classes[j] : `neuron ${j}`}`;
        items.push({ el: c, index: j });
      }
      if (shown < n) {
        svg("text", { x, y: H - 2, "text-anchor": "middle" }, diagram).textContent =
          `every ${stride.toFixed(1)}th of ${n} shown`;
      }
      positions.push(null);
    }
    state.neurons.push(items);
  });

  // From the input image to each neuron of the first layer: bright when that neuron fires.
  state.inputLines = [];
  if (positions[0]) {
    positions[0].forEach(([xb, yb], j) => {
      const el = svg("line", { x1: x0 + inputW / 2, y1: H / 2, x2: xb, y2: yb, stroke: "#ffd23f",
        "stroke-opacity": 0.04 }, lineGroup);
      state.inputLines.push({ el, j });
    });
  }

  // Connections between consecutive circle layers (their colour and opacity follow the drawing).
  state.lines = [];
  for (let l = 0; l + 1 < layers.length; l++) {
    const lines = [];
    if (positions[l] && positions[l + 1] && layers[l] * layers[l + 1] <= MAX_LINES) {
      for (let i = 0; i < layers[l]; i++) {
        for (let j = 0; j < layers[l + 1]; j++) {
          const [xa, ya] = positions[l][i], [xb, yb] = positions[l + 1][j];
          const el = svg("line", { x1: xa, y1: ya, x2: xb, y2: yb, "stroke-opacity": 0.04,
            stroke: "#8f9bb0" }, lineGroup);
          lines.push({ el, i, j });
        }
      }
    }
    state.lines.push(lines);
  }
  // Fetch the weights of the drawn connections, one request per receiving neuron.
  state.lines.forEach((lines, l) => {
    if (!lines.length) return;
    const n = layers[l + 1];
    for (let j = 0; j < n; j++) {
      getWeights(l + 2, j).then((w) => {
        for (const line of lines) if (line.j === j) line.w = w.weights[line.i];
        if (state.lastResult) paintLines(state.lastResult);
      });
    }
  });
  diagram.addEventListener("click", (ev) => {
    const el = ev.target.closest(".neuron");
    if (el) selectNeuron(Number(el.dataset.layer), Number(el.dataset.neuron));
  });
}

const weightCache = new Map();
function getWeights(layer, neuron) {
  const key = `${layer}/${neuron}`;
  if (!weightCache.has(key)) {
    weightCache.set(key, fetch(`/api/weights/${key}`).then(async (r) => {
      const body = await r.json();
      if (!r.ok) throw new Error(body.detail || `HTTP ${r.status}`);
      return body;
    }));
  }
  return weightCache.get(key);
}

function paintLines(result) {
  state.lines.forEach((lines, l) => {
    if (!lines.length) return;
    const a = result.layers[l].values;
    let scale = 1e-9;
    for (const line of lines) if (line.w !== undefined) scale = Math.max(scale, Math.abs(line.w * a[line.i]));
    for (const line of lines) {
      if (line.w === undefined) continue;
      const contribution = line.w * a[line.i];    // what neuron i adds to neuron j's weighted input
      line.el.setAttribute("stroke", contribution >= 0 ? "#4c9aff" : "#ff5c5c");
      line.el.setAttribute("stroke-opacity", (0.03 + 0.75 * Math.abs(contribution) / scale).toFixed(3));
    }
  });
}

// ------------------------------------------------------------------ showing a result
function drawInput(canvas, rows) {
  const h = rows.length, w = rows[0].length;
  canvas.width = w; canvas.height = h;
  const c = canvas.getContext("2d");
  const img = c.createImageData(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.round(255 * rows[y][x]);
      const k = 4 * (y * w + x);
      img.data[k] = img.data[k + 1] = img.data[k + 2] = v;
      img.data[k + 3] = 255;
    }
  }
  c.putImageData(img, 0, 0);
}

function show(result, version) {
  state.lastResult = result;
  const info = state.info;
  const best = result.top[0];
  const prediction = $("prediction");
  prediction.dataset.label = best.label;
  prediction.dataset.version = String(version);
  $("best").textContent = best.label;
  $("best-p").textContent = `${(100 * best.probability).toFixed(1)}%`;
  showDictionary(best.dictionary);
  const status = $("status");
  status.classList.remove("error");
  status.textContent = "";

  const list = $("candidates");
  list.innerHTML = "";
  for (const c of result.top.slice(0, 5)) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="label"></span> ${(100 * c.probability).toFixed(1)}%`;
    li.querySelector(".label").textContent = c.label;
    list.appendChild(li);
  }

  drawInput($("seen"), result.input);
  state.inputImage.setAttribute("href", $("seen").toDataURL());

  // Neurons: colour by activation; mark the clearly active ones as lit.
  result.layers.forEach((layer, l) => {
    const levels = displayLevels(layer.values, info.activation_ranges[l], layer.activation);
    for (const item of state.neurons[l]) {
      const level = levels[item.index];
      item.el.setAttribute("fill", neuronColour(level));
      item.el.dataset.activation = layer.values[item.index].toFixed(4);
      item.el.dataset.lit = String(level > 0.5);
      if (item.label) item.label.classList.toggle("best", item.index === best.index);
    }
  });
  const first = displayLevels(result.layers[0].values, info.activation_ranges[0],
    result.layers[0].activation);
  for (const line of state.inputLines) {
    line.el.setAttribute("stroke-opacity", (0.03 + 0.5 * Math.max(0, first[line.j])).toFixed(3));
  }
  paintLines(result);
  showBars(result);
}

// The best candidate's readings and meanings (kanji: KANJIDIC2, shown with its credit, as EDRDG
// asks for every screen that shows its data) or romaji (kana). Hidden for digits and letters.
function showDictionary(entry) {
  const box = $("dictionary");
  const readings = $("dict-readings");
  readings.innerHTML = "";
  if (!entry) {
    box.hidden = true;
    delete box.dataset.char;
    return;
  }
  box.hidden = false;
  box.dataset.char = entry.char;
  box.dataset.kind = entry.kind;
  const row = (term, value, lang) => {
    if (!value) return;
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    dd.className = term;
    if (lang) dd.lang = lang;
    readings.append(dt, dd);
  };
  const credit = $("dict-credit");
  if (entry.kind === "kanji") {
    row("on", entry.on.join("、"), "ja");
    row("kun", entry.kun.join("、"), "ja");
    const meta = [entry.grade_name, entry.strokes && `${entry.strokes} strokes`,
      entry.jlpt && `old JLPT level ${entry.jlpt}`].filter(Boolean);
    $("dict-meanings").textContent = entry.meanings.length ? entry.meanings.join("; ")
      : (entry.on.length || entry.kun.length ? "" : "no readings or meanings in KANJIDIC2");
    $("dict-meta").textContent = meta.join(" · ");
    const link = $("dict-credit-link");
    link.textContent = entry.credit;
    link.href = entry.credit_url;
    credit.hidden = false;
  } else {
    row("romaji", entry.small ? `${entry.romaji} (small)` : entry.romaji);
    $("dict-meanings").textContent = "";
    $("dict-meta").textContent = entry.kind;
    credit.hidden = true;
  }
}

function showBars(result) {
  const info = state.info;
  const bars = $("bars");
  bars.innerHTML = "";
  let entries;
  if (info.classes.length <= MAX_BARS_ALL) {
    entries = new Array(info.classes.length);
    for (const c of result.top) entries[c.index] = c;
    $("bars-title").textContent = "Output layer (share of each class)";
  } else {
    entries = result.top.slice(0, TOP_BARS);
    $("bars-title").textContent = `Output layer: top ${entries.length} of ${info.classes.length}`;
  }
  const bestIndex = result.top[0].index;
  for (const c of entries) {
    if (!c) continue;
    const row = document.createElement("div");
    row.className = "bar" + (c.index === bestIndex ? " best" : "");
    row.dataset.label = c.label;
    row.dataset.probability = String(c.probability);
    row.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    row.querySelector(".label").textContent = c.label;
    row.querySelector(".fill").style.width = `${(100 * c.probability).toFixed(1)}%`;
    row.querySelector(".value").textContent = `${(100 * c.probability).toFixed(1)}%`;
    bars.appendChild(row);
  }
}

function showEmpty() {
  state.lastResult = null;
  const prediction = $("prediction");
  delete prediction.dataset.label;
  prediction.dataset.version = String(state.version);
  $("best").textContent = "?";
  $("best-p").textContent = "";
  showDictionary(null);
  $("candidates").innerHTML = "";
  $("bars").innerHTML = "";
  $("status").classList.remove("error");
  $("status").textContent = "Draw something on the pad.";
  const seen = $("seen");
  seen.getContext("2d").clearRect(0, 0, seen.width, seen.height);
  if (state.inputImage) state.inputImage.removeAttribute("href");
  for (const items of state.neurons) {
    for (const item of items) {
      item.el.setAttribute("fill", neuronColour(0));
      item.el.dataset.lit = "false";
      delete item.el.dataset.activation;
      if (item.label) item.label.classList.remove("best");
    }
  }
  for (const lines of [...state.lines, state.inputLines || []]) {
    for (const line of lines) line.el.setAttribute("stroke-opacity", 0.04);
  }
}

// ------------------------------------------------------------------ a neuron's incoming weights
function selectNeuron(layer, neuron) {
  for (const items of state.neurons) for (const it of items) it.el.classList.remove("selected");
  const item = state.neurons[layer - 1].find((it) => it.index === neuron);
  if (item) item.el.classList.add("selected");
  state.selected = { layer, neuron };
  getWeights(layer, neuron).then((w) => {
    if (!state.selected || state.selected.layer !== layer || state.selected.neuron !== neuron) return;
    const detail = $("neuron-detail");
    detail.hidden = false;
    detail.dataset.layer = String(layer);
    detail.dataset.neuron = String(neuron);
    const what = w.label !== null ? `output neuron “${w.label}”` : `hidden layer ${layer}, neuron ${neuron}`;
    $("neuron-title").textContent = `Incoming weights of ${what}`;
    const canvas = $("weights");
    const [h, wd] = w.shape.length === 2 ? w.shape : gridShape(w.shape[0]);
    canvas.width = wd; canvas.height = h;
    const c = canvas.getContext("2d");
    const img = c.createImageData(wd, h);
    // Full colour at the 98th percentile of |w|, so that one outlier does not dim the picture.
    const sorted = w.weights.map(Math.abs).sort((a, b) => a - b);
    const scale = Math.max(1e-9, sorted[Math.floor(0.98 * (sorted.length - 1))]);
    for (let k = 0; k < h * wd; k++) {
      const rgb = k < w.weights.length ? weightColour(w.weights[k], scale).match(/\d+/g).map(Number) : [40, 40, 40];
      img.data.set([...rgb, 255], 4 * k);
    }
    c.putImageData(img, 0, 0);
    const from = layer === 1 ? "input pixel" : `neuron of layer ${layer - 1} (row by row)`;
    $("neuron-caption").textContent =
      `One square per ${from}: blue = positive weight (ink there excites it), red = negative ` +
      `(ink there inhibits it). Weights from ${w.min.toFixed(2)} to ${w.max.toFixed(2)}; bias ${w.bias.toFixed(2)}.`;
  }).catch((err) => showError(err.message, state.version));
}

function gridShape(n) {
  const cols = Math.ceil(Math.sqrt(n));
  return [Math.ceil(n / cols), cols];
}

// ------------------------------------------------------------------ start
async function start() {
  clearPad();
  $("undo").disabled = true;
  try {
    const r = await fetch("/api/model");
    state.info = await r.json();
  } catch (err) {
    $("model-summary").textContent = `Cannot reach the server: ${err.message}`;
    return;
  }
  const info = state.info;
  const acc = info.test_accuracy != null ? `, test accuracy ${(100 * info.test_accuracy).toFixed(1)}%` : "";
  $("model-summary").textContent =
    `${info.name || "model"}: ${info.sizes.join("–")} neurons (${info.activations.join(", ")}), ` +
    `${info.n_params.toLocaleString("en")} parameters, ${info.classes.length} classes${acc}.`;
  buildDiagram(info);
  showEmpty();
  document.body.dataset.state = "idle";
}
start();
