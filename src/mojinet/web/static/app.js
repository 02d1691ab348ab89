// mojinet draw page: draw with mouse, touch or pen; a backend (backend.js: the server's API, or
// the network itself in this browser for a static export) reads the drawing and returns every
// layer's activations; this script draws them. Plain JavaScript, no libraries, no build step.
//
// The parts, top to bottom: drawing on the pad; asking the backend (throttled, one at a time);
// colours; the network diagram (laid out in CSS pixels for the panel's width, so text keeps its
// size and neurons stay tappable on a phone); showing a result; a neuron's incoming weights.
// Panels hook in through `state` and `show` (a correction panel can follow the same pattern).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const PEN_WIDTH = 18;          // on the 280×280 pad: ~2 px strokes once scaled into MNIST's box
const THROTTLE_MS = 120;       // at most one prediction request per this interval while drawing
const MAX_CIRCLES = 40;        // layers up to this size are drawn as circles, larger ones as a grid
const MAX_CELLS = 1024;        // a grid shows at most this many neurons (an even subsample)
const MAX_LINES = 2000;        // draw connections between two layers up to this many weights
const MAX_BARS_ALL = 20;       // up to this many classes: a bar each; more: the top TOP_BARS
const TOP_BARS = 10;
const TOUCH_TARGET = 26;       // px: a circle neuron's tap target on a touch screen (≥ 24)
const LABELLED_CELL = 16;      // px: the smallest output-grid cell that shows its class label

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const backend = window.mojinetBackend.chooseBackend(document.body.dataset.backend);

// State the tests can read: window.mojinet.version counts drawing changes; the prediction shown
// carries the version it was computed for (data-version on #prediction).
const state = {
  info: null,
  backend: backend.kind,
  strokes: [],        // each stroke: [[x, y], …] in pad pixels
  current: null,      // the stroke being drawn
  version: 0,
  inflight: false,
  pending: false,
  lastSent: 0,
  timer: null,
  selected: null,     // {layer, neuron}
  neurons: [],        // neurons[l]: [{el, index, label?}] per layer after the input (l = 0 → layer 1)
  grids: [],          // grids[l]: the cell layout of a grid layer (null for circles)
  lines: [],          // lines[l]: [{el, i, j, w}] between layer l and l+1 (l = 0: first hidden)
  inputLines: [],
  lastResult: null,
  lastInput: null,    // the input the shown result was computed from (h·w numbers)
  layoutWidth: 0,
  onShow: [],         // panels' hooks: f(result) after a result is shown, f(null) when emptied
  repredict: () => { if (!isEmpty()) schedulePredict(); },   // read the drawing again
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

function padPoint(ev) {   // [x, y, t]: pad pixels, the event's time in ms
  const r = pad.getBoundingClientRect();
  return [(ev.clientX - r.left) * (pad.width / r.width),
    (ev.clientY - r.top) * (pad.height / r.height), ev.timeStamp];
}

function isEmpty() {
  return state.strokes.length === 0 && !state.current;
}

function changed() {
  state.version += 1;
  $("undo").disabled = isEmpty();
  if (isEmpty()) showEmpty(); else schedulePredict();
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

// ------------------------------------------------------------------ asking the backend
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
  if (isEmpty()) return;
  state.inflight = true;
  state.lastSent = performance.now();
  document.body.dataset.state = "busy";
  const version = state.version;
  const n = state.info.classes.length;
  const top = n <= MAX_BARS_ALL ? n : Math.max(TOP_BARS, 5);
  // The backend says when it sends (after encoding the drawing): the throttle counts from there.
  // The strokes (api/predict/strokes) unless told to send the canvas's PNG (sendStrokes false).
  const drawing = state.sendStrokes === false ? null : {
    strokes: state.current ? [...state.strokes, state.current] : state.strokes, pen: PEN_WIDTH };
  backend.predict(pad, top, () => { state.lastSent = performance.now(); }, drawing)
    .then((result) => { if (version === state.version || state.pending) show(result, version); })
    .catch((err) => {
      if (err.retryAfter) {   // busy: send the drawing again once Retry-After has passed
        state.pending = true;
        state.lastSent = performance.now() + 1000 * err.retryAfter - THROTTLE_MS;
      }
      showError(err.message, version);
    })
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
// Sign colours come from palette.css (mojinet/viz/palette.py: the figures' convention).
function cssColour(name) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
  if (!m) throw new Error(`the page's stylesheet has no colour ${name} (got "${value}")`);
  return m.slice(1).map((h) => parseInt(h, 16));
}
const DARK = [28, 35, 48], BLACK = [0, 0, 0];
let LIT = [255, 210, 63], POSITIVE = [253, 184, 99], NEGATIVE = [146, 197, 222];
function loadColours() {
  LIT = cssColour("--lit");
  POSITIVE = cssColour("--positive");
  NEGATIVE = cssColour("--negative");
}

function mix(a, b, t) {
  return a.map((v, k) => Math.round(v + (b[k] - v) * t));
}
const rgb = (c) => `rgb(${c.join(",")})`;

// Scale a layer's activations to [-1, 1] for display: bounded activations as they are (sigmoid,
// softmax: [0, 1]; tanh: [-1, 1]); unbounded ones (relu) relative to the layer's largest value,
// and so is a softmax over many classes (kanji), which spreads its probability thin.
function displayLevels(values, range, activation) {
  const wideSoftmax = activation === "softmax" && values.length > MAX_BARS_ALL;
  if (range[1] !== null && !wideSoftmax) return values;
  const top = Math.max(1e-9, ...values.map(Math.abs));
  return values.map((v) => v / top);
}

// An activation: dark → bright yellow as it grows; a negative one (tanh) towards blue.
function neuronColour(level) {
  return rgb(level >= 0 ? mix(DARK, LIT, Math.min(1, level)) : mix(DARK, NEGATIVE, Math.min(1, -level)));
}

// A signed number on the dark page: black → orange (positive) or blue (negative) with |w|/scale.
function signedColour(w, scale) {
  return mix(BLACK, w >= 0 ? POSITIVE : NEGATIVE, Math.min(1, Math.abs(w) / scale));
}

// ------------------------------------------------------------------ the network diagram
function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function coarsePointer() {
  return window.matchMedia("(pointer: coarse)").matches;
}

// Where everything goes, in CSS pixels for a panel `width` wide (the SVG is drawn 1:1).
function layoutDiagram(info, width) {
  const W = Math.max(300, Math.round(width));
  const layers = info.sizes.slice(1);
  const top = 44, bottom = 22;
  const slot = coarsePointer() || W < 560 ? TOUCH_TARGET : 14;
  const inputW = Math.max(56, Math.min(140, W * 0.16));
  const x0 = 6 + inputW / 2;
  const outputIsCircles = layers[layers.length - 1] <= MAX_CIRCLES;
  const right = outputIsCircles ? 30 : 8;
  const first = x0 + inputW / 2 + 10;
  const span = (W - right - first) / layers.length;
  const columnX = layers.map((_, l) => first + span * (l + 0.5));
  let H = Math.max(300, Math.min(520, W * 0.55));
  const grids = layers.map((n, l) => {
    if (n <= MAX_CIRCLES) {
      H = Math.max(H, top + bottom + n * slot);
      return null;
    }
    const isOutput = l === layers.length - 1;
    const shown = Math.min(n, MAX_CELLS);
    const colW = Math.max(20, span - 10);
    let cols = Math.max(1, Math.round(Math.sqrt(shown * colW / (H - top - bottom))));
    let cell = Math.min(colW / cols, (H - top - bottom) / Math.ceil(shown / cols));
    const least = isOutput ? LABELLED_CELL : 3;
    if (cell < least) {
      cell = Math.min(least, colW);
      cols = Math.max(1, Math.floor(colW / cell));
    }
    const rows = Math.ceil(shown / cols);
    H = Math.max(H, top + bottom + rows * cell);
    return { shown, stride: n / shown, cols, rows, cell, labelled: isOutput && cell >= 12 };
  });
  return { W, H: Math.ceil(H), top, bottom, slot, inputW, x0, columnX, span, layers, grids };
}

function layerTitle(group, x, lines) {
  const t = svg("text", { class: "layer-title", x, y: 14, "text-anchor": "middle" }, group);
  lines.forEach((line, k) => {
    svg("tspan", { x, dy: k === 0 ? 0 : 15 }, t).textContent = line;
  });
}

function buildDiagram(info) {
  const diagram = $("diagram");
  diagram.innerHTML = "";
  const L = layoutDiagram(info, diagram.parentElement.clientWidth - 2);
  state.layoutWidth = L.W;
  diagram.setAttribute("viewBox", `0 0 ${L.W} ${L.H}`);
  diagram.setAttribute("width", L.W);
  diagram.setAttribute("height", L.H);
  const lineGroup = svg("g", { class: "lines" }, diagram);
  const titles = svg("g", { class: "titles" }, diagram);
  const mid = (L.top + L.H - L.bottom) / 2;

  // The input layer: the preprocessed image.
  const [h, w] = info.image_shape;
  layerTitle(titles, L.x0, ["input", `${h}×${w} = ${info.sizes[0]}`]);
  state.inputImage = svg("image", { id: "diagram-input", x: L.x0 - L.inputW / 2, y: mid - L.inputW / 2,
    width: L.inputW, height: L.inputW, preserveAspectRatio: "none" }, diagram);
  svg("rect", { x: L.x0 - L.inputW / 2, y: mid - L.inputW / 2, width: L.inputW, height: L.inputW,
    fill: "none", stroke: "#3a465c" }, diagram);

  state.neurons = [];
  state.grids = L.grids;
  const positions = L.layers.map((n, l) => {
    const isOutput = l === L.layers.length - 1;
    layerTitle(titles, L.columnX[l], [isOutput ? "output" : `hidden ${l + 1}`,
      `${n} ${info.activations[l]}`]);
    const group = svg("g", { class: "layer", "data-layer": l + 1 }, diagram);
    if (L.grids[l]) {
      state.neurons.push(gridLayer(group, info, L, l, mid));
      return null;
    }
    const { items, pos } = circleLayer(group, info, L, l, mid);
    state.neurons.push(items);
    return pos;
  });
  connect(L, positions, lineGroup, mid);
}

function circleLayer(group, info, L, l, mid) {
  const n = L.layers[l], isOutput = l === L.layers.length - 1, x = L.columnX[l];
  const step = Math.max(L.slot, Math.min(34, (L.H - L.top - L.bottom) / n));
  const y0 = mid - (step * n) / 2;
  const r = Math.max(4, Math.min(11, step * 0.4));
  const hitW = Math.max(TOUCH_TARGET, Math.min(L.span - 6, 2 * r + 16)) + (isOutput ? 18 : 0);
  const items = [], pos = [];
  for (let j = 0; j < n; j++) {
    const y = y0 + step * (j + 0.5);
    pos.push([x, y]);
    // A transparent tap target behind each circle, a whole slot high (≥ 24 px on touch screens).
    svg("rect", { class: "hit", x: x - hitW / 2 + (isOutput ? 9 : 0), y: y - step / 2, width: hitW,
      height: step, fill: "transparent", "data-layer": l + 1, "data-neuron": j }, group);
    const c = svg("circle", { class: "neuron", cx: x, cy: y, r, fill: neuronColour(0),
      "data-layer": l + 1, "data-neuron": j }, group);
    svg("title", {}, c).textContent = `layer ${l + 1}, ${isOutput ? info.classes[j] : `neuron ${j}`}`;
    const item = { el: c, index: j };
    if (isOutput) {
      item.label = svg("text", { class: "class-label", x: x + r + 4, y: y + 4.5 }, group);
      item.label.textContent = info.classes[j];
    }
    items.push(item);
  }
  return { items, pos };
}

// A grid of (a subsample of) the neurons, cells coloured by activation; output cells carry
// their class label when they are big enough to read.
function gridLayer(group, info, L, l, mid) {
  const g = L.grids[l], isOutput = l === L.layers.length - 1;
  g.x = L.columnX[l] - (g.cols * g.cell) / 2;
  g.y = mid - (g.rows * g.cell) / 2;
  svg("rect", { class: "grid-hit", x: g.x - 6, y: g.y - 6, width: g.cols * g.cell + 12,
    height: g.rows * g.cell + 12, fill: "transparent", "data-layer": l + 1 }, group);
  const items = [];
  for (let k = 0; k < g.shown; k++) {
    const j = Math.floor(k * g.stride);
    const cx = g.x + (k % g.cols) * g.cell, cy = g.y + Math.floor(k / g.cols) * g.cell;
    const c = svg("rect", { class: "neuron", x: cx, y: cy, width: g.cell, height: g.cell,
      fill: neuronColour(0), "data-layer": l + 1, "data-neuron": j }, group);
    c.classList.toggle("edged", g.cell > 6);
    svg("title", {}, c).textContent = `layer ${l + 1}, ${isOutput ? info.classes[j] : `neuron ${j}`}`;
    const item = { el: c, index: j };
    if (g.labelled) {
      item.label = svg("text", { class: "cell-label", x: cx + g.cell / 2, y: cy + g.cell * 0.72,
        "text-anchor": "middle", "font-size": (g.cell * 0.62).toFixed(1) }, group);
      item.label.textContent = info.classes[j];
    }
    items.push(item);
  }
  if (g.shown < L.layers[l]) {
    svg("text", { x: L.columnX[l], y: L.H - 6, "text-anchor": "middle" }, group).textContent =
      `every ${g.stride.toFixed(1)}th of ${L.layers[l]} shown`;
  }
  return items;
}

// Lines from the input image to the first layer, and between consecutive circle layers.
function connect(L, positions, lineGroup, mid) {
  state.inputLines = [];
  if (positions[0]) {
    positions[0].forEach(([xb, yb], j) => {
      const el = svg("line", { x1: L.x0 + L.inputW / 2, y1: mid, x2: xb, y2: yb, stroke: rgb(LIT),
        "stroke-opacity": 0.04 }, lineGroup);
      state.inputLines.push({ el, j });
    });
  }
  state.lines = [];
  for (let l = 0; l + 1 < L.layers.length; l++) {
    const lines = [];
    if (positions[l] && positions[l + 1] && L.layers[l] * L.layers[l + 1] <= MAX_LINES) {
      for (let i = 0; i < L.layers[l]; i++) {
        for (let j = 0; j < L.layers[l + 1]; j++) {
          const [xa, ya] = positions[l][i], [xb, yb] = positions[l + 1][j];
          lines.push({ el: svg("line", { x1: xa, y1: ya, x2: xb, y2: yb, "stroke-opacity": 0.04,
            stroke: "#8f9bb0" }, lineGroup), i, j });
        }
      }
    }
    state.lines.push(lines);
  }
  // The weights of the drawn connections, one request per receiving neuron.
  state.lines.forEach((lines, l) => {
    if (!lines.length) return;
    for (let j = 0; j < L.layers[l + 1]; j++) {
      backend.weights(l + 2, j).then((w) => {
        for (const line of lines) if (line.j === j) line.w = w.weights[line.i];
        if (state.lastResult) paintLines(state.lastResult);
      });
    }
  });
}

// A tap or click: the neuron under it, or the nearest cell of a grid layer (cells can be small).
function neuronAt(ev) {
  const el = ev.target.closest(".neuron, .hit");
  if (el) return [Number(el.dataset.layer), Number(el.dataset.neuron)];
  const area = ev.target.closest(".grid-hit");
  if (!area) return null;
  const l = Number(area.dataset.layer) - 1, g = state.grids[l];
  const box = $("diagram").getBoundingClientRect();
  const x = (ev.clientX - box.left) * (state.layoutWidth / box.width) - g.x;
  const y = (ev.clientY - box.top) * (state.layoutWidth / box.width) - g.y;
  const col = Math.min(g.cols - 1, Math.max(0, Math.floor(x / g.cell)));
  const row = Math.min(g.rows - 1, Math.max(0, Math.floor(y / g.cell)));
  const k = Math.min(g.shown - 1, row * g.cols + col);
  return [l + 1, state.neurons[l][k].index];
}

$("diagram").addEventListener("click", (ev) => {
  const hit = neuronAt(ev);
  if (hit) selectNeuron(...hit);
});

function paintLines(result) {
  state.lines.forEach((lines, l) => {
    if (!lines.length) return;
    const a = result.layers[l].values;
    let scale = 1e-9;
    for (const line of lines) if (line.w !== undefined) scale = Math.max(scale, Math.abs(line.w * a[line.i]));
    for (const line of lines) {
      if (line.w === undefined) continue;
      const contribution = line.w * a[line.i];    // what neuron i adds to neuron j's weighted input
      line.el.setAttribute("stroke", rgb(contribution >= 0 ? POSITIVE : NEGATIVE));
      line.el.dataset.sign = contribution >= 0 ? "positive" : "negative";
      line.el.setAttribute("stroke-opacity", (0.03 + 0.75 * Math.abs(contribution) / scale).toFixed(3));
    }
  });
}

function relayout() {
  if (!state.info) return;
  const width = $("diagram").parentElement.clientWidth - 2;
  if (Math.abs(Math.max(300, Math.round(width)) - state.layoutWidth) < 8) return;
  buildDiagram(state.info);
  if (state.lastResult) paintResult(state.lastResult); else paintEmpty();
  if (state.selected) markSelected(state.selected.layer, state.selected.neuron);
}
window.addEventListener("resize", relayout);

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

// How one candidate's number reads: a probability (softmax) or an activation and its share.
function scoreText(c, long) {
  if (state.info.output === "probability") return `${(100 * c.probability).toFixed(1)}%`;
  const a = `a = ${c.activation.toFixed(2)}`;
  return long ? `${a} · share ${(100 * c.share).toFixed(0)}%` : a;
}

function show(result, version) {
  state.lastResult = result;
  state.lastInput = result.x ? Array.from(result.x) : result.input.flat();
  const best = result.top[0];
  const prediction = $("prediction");
  prediction.dataset.label = best.label;
  prediction.dataset.version = String(version);
  $("best").textContent = best.label;
  $("best-p").textContent = scoreText(best, false);
  showDictionary(best.dictionary);
  const status = $("status");
  status.classList.remove("error");
  status.textContent = "";
  if (result.character === false) {  // the server's verdict: noise, texture, nothing drawn
    $("best").textContent = "?";
    status.textContent = `not a character: ${result.verdict.reason}`;
  }

  const list = $("candidates");
  list.innerHTML = "";
  for (const c of result.top.slice(0, 5)) {
    const li = document.createElement("li");
    li.innerHTML = '<span class="label"></span> <span class="score"></span>';
    li.querySelector(".label").textContent = c.label;
    li.querySelector(".score").textContent = scoreText(c, true);
    list.appendChild(li);
  }
  drawInput($("seen"), result.input);
  paintResult(result);
  showBars(result);
  for (const hook of state.onShow) hook(result);
}

function paintResult(result) {
  const info = state.info;
  state.inputImage.setAttribute("href", $("seen").toDataURL());
  // Neurons: colour by activation; mark the clearly active ones as lit.
  result.layers.forEach((layer, l) => {
    const levels = displayLevels(layer.values, info.activation_ranges[l], layer.activation);
    for (const item of state.neurons[l]) {
      const level = levels[item.index];
      item.el.setAttribute("fill", neuronColour(level));
      item.el.dataset.activation = layer.values[item.index].toFixed(4);
      item.el.dataset.lit = String(level > 0.5);
      if (item.label) item.label.classList.toggle("best", item.index === result.top[0].index);
    }
  });
  const first = displayLevels(result.layers[0].values, info.activation_ranges[0],
    result.layers[0].activation);
  for (const line of state.inputLines) {
    line.el.setAttribute("stroke-opacity", (0.03 + 0.5 * Math.max(0, first[line.j])).toFixed(3));
  }
  paintLines(result);
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

// The output layer as bars: probabilities (softmax) or activations (each in its own range).
function showBars(result) {
  const info = state.info;
  const bars = $("bars");
  bars.innerHTML = "";
  const probability = info.output === "probability";
  const what = probability ? "probability of each class" : "activation of each output neuron";
  let entries;
  if (info.classes.length <= MAX_BARS_ALL) {
    entries = new Array(info.classes.length);
    for (const c of result.top) entries[c.index] = c;
    $("bars-title").textContent = `Output layer (${what})`;
  } else {
    entries = result.top.slice(0, TOP_BARS);
    $("bars-title").textContent = `Output layer: top ${entries.length} of ${info.classes.length} (${what})`;
  }
  const high = info.activation_ranges[info.activation_ranges.length - 1][1];
  const scale = probability || high !== null ? (high || 1) : Math.max(1e-9, ...entries.filter(Boolean).map((c) => c.activation));
  const bestIndex = result.top[0].index;
  for (const c of entries) {
    if (!c) continue;
    const value = probability ? c.probability : c.activation;
    const row = document.createElement("div");
    row.className = "bar" + (c.index === bestIndex ? " best" : "");
    row.dataset.label = c.label;
    row.dataset.probability = String(c.probability);
    row.dataset.activation = String(c.activation);
    row.dataset.share = String(c.share);
    row.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
    row.querySelector(".label").textContent = c.label;
    row.querySelector(".fill").style.width = `${(100 * Math.max(0, value) / scale).toFixed(1)}%`;
    row.querySelector(".value").textContent = probability ? scoreText(c) : c.activation.toFixed(2);
    bars.appendChild(row);
  }
}

function showEmpty() {
  state.lastResult = null;
  state.lastInput = null;
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
  paintEmpty();
  for (const hook of state.onShow) hook(null);
}

function paintEmpty() {
  if (state.inputImage) state.inputImage.removeAttribute("href");
  for (const items of state.neurons) {
    for (const item of items) {
      item.el.setAttribute("fill", neuronColour(0));
      item.el.dataset.lit = "false";
      delete item.el.dataset.activation;
      if (item.label) item.label.classList.remove("best");
    }
  }
  for (const lines of [...state.lines, state.inputLines]) {
    for (const line of lines) line.el.setAttribute("stroke-opacity", 0.04);
  }
}

// ------------------------------------------------------------------ a neuron's incoming weights
function markSelected(layer, neuron) {
  for (const items of state.neurons) for (const it of items) it.el.classList.remove("selected");
  const item = state.neurons[layer - 1].find((it) => it.index === neuron);
  if (item) item.el.classList.add("selected");
}

function selectNeuron(layer, neuron) {
  markSelected(layer, neuron);
  state.selected = { layer, neuron };
  backend.weights(layer, neuron).then((w) => {
    if (!state.selected || state.selected.layer !== layer || state.selected.neuron !== neuron) return;
    const detail = $("neuron-detail");
    detail.hidden = false;
    detail.dataset.layer = String(layer);
    detail.dataset.neuron = String(neuron);
    const what = w.label !== null ? `output neuron “${w.label}”` : `hidden layer ${layer}, neuron ${neuron}`;
    $("neuron-title").textContent = `Incoming weights of ${what}`;
    drawWeights($("weights"), w);
    const from = layer === 1 ? "input pixel" : `neuron of layer ${layer - 1} (row by row)`;
    const pos = getComputedStyle(document.documentElement).getPropertyValue("--positive-name").trim().replace(/"/g, "");
    const neg = getComputedStyle(document.documentElement).getPropertyValue("--negative-name").trim().replace(/"/g, "");
    $("neuron-caption").textContent =
      `One square per ${from}: ${pos} = positive weight (ink there excites it), ${neg} = negative ` +
      `(ink there inhibits it). Weights from ${w.min.toFixed(2)} to ${w.max.toFixed(2)}; bias ${w.bias.toFixed(2)}.`;
  }).catch((err) => showError(err.message, state.version));
}

function drawWeights(canvas, w) {
  const [h, wd] = w.shape.length === 2 ? w.shape : gridShape(w.shape[0]);
  canvas.width = wd; canvas.height = h;
  const c = canvas.getContext("2d");
  const img = c.createImageData(wd, h);
  // Full colour at the 98th percentile of |w|, so that one outlier does not dim the picture.
  const sorted = w.weights.map(Math.abs).sort((a, b) => a - b);
  const scale = Math.max(1e-9, sorted[Math.floor(0.98 * (sorted.length - 1))]);
  for (let k = 0; k < h * wd; k++) {
    const colour = k < w.weights.length ? signedColour(w.weights[k], scale) : [40, 40, 40];
    img.data.set([...colour, 255], 4 * k);
  }
  c.putImageData(img, 0, 0);
}

// Step to the previous or next neuron of the selected layer (a grid's cells can be small to tap).
function stepNeuron(delta) {
  if (!state.selected) return;
  const { layer, neuron } = state.selected;
  const items = state.neurons[layer - 1];
  const k = items.findIndex((it) => it.index === neuron);
  const next = items[(k + delta + items.length) % items.length];
  selectNeuron(layer, next.index);
}
$("neuron-prev").addEventListener("click", () => stepNeuron(-1));
$("neuron-next").addEventListener("click", () => stepNeuron(1));

function gridShape(n) {
  const cols = Math.ceil(Math.sqrt(n));
  return [Math.ceil(n / cols), cols];
}

// ------------------------------------------------------------------ start
function describeModel(info) {
  const acc = info.test_accuracy != null ? `, test accuracy ${(100 * info.test_accuracy).toFixed(1)}%` : "";
  $("model-summary").textContent =
    `${info.name || "model"}: ${info.sizes.join("–")} neurons (${info.activations.join(", ")}), ` +
    `${info.n_params.toLocaleString("en")} parameters, ${info.classes.length} classes${acc}` +
    (info.parameters_sha256 ? `, identity ${info.parameters_sha256.slice(0, 12)}.` : ".");
  $("model-summary").title = info.parameters_sha256
    ? `SHA-256 of the parameters (mojinet info shows it too): ${info.parameters_sha256}` : "";
  const [h, w] = info.image_shape;
  const { box } = info.preprocessing;
  $("seen-hint").textContent = `Your drawing cropped to its ink, scaled into a ${box}×${box} box ` +
    `and centred by its centre of mass in ${h}×${w} pixels` +
    (h === 28 && box === 20 ? ", as MNIST was made." : ", the input size this model reads.");
  const canvas = $("seen");
  canvas.width = w; canvas.height = h;
  $("api-link").hidden = !backend.hasApi;
}

async function start() {
  clearPad();
  $("undo").disabled = true;
  try {
    loadColours();
    state.info = await backend.info();
  } catch (err) {
    $("model-summary").textContent = backend.kind === "server"
      ? `Cannot reach the server: ${err.message}` : `Cannot load the model: ${err.message}`;
    document.body.dataset.state = "failed";
    return;
  }
  describeModel(state.info);
  buildDiagram(state.info);
  showEmpty();
  document.body.dataset.state = "idle";
}
start();
