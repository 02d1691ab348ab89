// Where the page's answers come from. The page (app.js) asks a backend three things — describe
// the model, read the drawing on this canvas (calling `sending()` as it sends it), give one
// neuron's incoming weights — and draws the answers; it does not know which backend it has:
//   serverBackend()   `mojinet serve`: the JSON API (/api/model, /api/predict, /api/weights)
//   staticBackend()   `mojinet export MODEL --web DIR`: model.json + weights.bin next to the page,
//                     run in this browser by net.js (no server beyond any static file host)
// Both return the same shapes (the API's schema: docs/web.md). <body data-backend="…"> chooses.
"use strict";

(function (root) {
  class Busy extends Error {
    constructor(message, seconds) { super(message); this.retryAfter = seconds; }
  }

  async function json(response) {
    const body = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
    return body;
  }

  function serverBackend() {
    const weights = new Map();
    return {
      kind: "server",
      hasApi: true,
      info: () => fetch("api/model").then(json),
      // With the drawing's strokes (and the pen they were drawn with), the strokes are sent
      // (api/predict/strokes: the server draws them on its own canvas, no PNG to encode or
      // decode); without, the canvas as a PNG (api/predict).
      async predict(canvas, top, sending = () => {}, drawing = null) {
        const strokes = drawing && drawing.strokes.length ? drawing.strokes : null;
        const body = JSON.stringify(strokes
          ? { strokes: strokes.map((s) => s.map((p) => [Math.round(p[0] * 100) / 100,
            Math.round(p[1] * 100) / 100])), pad: [canvas.width, canvas.height],
          pen: drawing.pen, top }
          : { image: canvas.toDataURL("image/png"), top });
        sending();
        const r = await fetch(strokes ? "api/predict/strokes" : "api/predict", {
          method: "POST", headers: { "Content-Type": "application/json" }, body });
        if (r.status === 503) {   // busy: the page sends the drawing again after Retry-After
          const seconds = Number(r.headers.get("Retry-After")) || 1;
          throw new Busy(`The server is busy; trying again in ${seconds} s…`, seconds);
        }
        return json(r);
      },
      weights(layer, neuron) {
        const key = `${layer}/${neuron}`;
        if (!weights.has(key)) weights.set(key, fetch(`api/weights/${key}`).then(json));
        return weights.get(key);
      },
    };
  }

  // model.json: {format, version, info (as /api/model), features {name, pool} (none: pixels),
  // dictionary {label: entry},
  // layers [{fan_in, fan_out, activation, weights: {offset, count}, biases: {offset, count}}],
  // weights_file, weights_bytes}; weights.bin: little-endian float32, W row-major (fan_in, fan_out).
  // Both files are revalidated on each load ("no-cache"), so a re-exported model is never read
  // as a stale model.json beside new weights.
  async function loadModel(base) {
    const spec = await fetch(`${base}model.json`, { cache: "no-cache" }).then(json);
    if (spec.format !== "mojinet-web" || spec.version !== 1) {
      throw new Error(`${base}model.json is not a mojinet web model (format ${spec.format}, `
        + `version ${spec.version}); export it again with mojinet export MODEL --web DIR`);
    }
    const features = spec.features || { name: "pixels", pool: 1 };
    if (!["pixels", "pixels+directions"].includes(features.name)) {
      throw new Error(`${base}model.json says the model reads ${features.name}; this page `
        + `makes pixels and pixels+directions inputs only`);
    }
    const r = await fetch(`${base}${spec.weights_file}`, { cache: "no-cache" });
    if (!r.ok) throw new Error(`cannot load ${spec.weights_file}: HTTP ${r.status}`);
    const buffer = await r.arrayBuffer();
    if (buffer.byteLength !== spec.weights_bytes) {
      throw new Error(`${spec.weights_file} has ${buffer.byteLength} bytes, model.json says `
        + `${spec.weights_bytes}: the files do not belong together; export the model again`);
    }
    const floats = (part) => new Float32Array(buffer, part.offset, part.count);
    const layers = spec.layers.map((l) => ({ fanIn: l.fan_in, fanOut: l.fan_out,
      activation: l.activation, W: floats(l.weights), b: floats(l.biases) }));
    return { info: spec.info, features, layers, dictionary: spec.dictionary || {} };
  }

  function staticBackend(base = "") {
    const net = root.mojinetNet;
    const model = loadModel(base);
    return {
      kind: "static",
      hasApi: false,
      info: () => model.then((m) => m.info),
      async predict(canvas, top, sending = () => {}) {
        const m = await model;
        sending();
        const { size, box } = m.info.preprocessing;
        const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const x = net.toInput(rgba, canvas.width, canvas.height, size, box);
        const result = net.readout(m, x, top);
        for (const c of result.top) if (m.dictionary[c.label]) c.dictionary = m.dictionary[c.label];
        result.x = x;   // the input exactly (the API sends it rounded to 3 decimals)
        return result;
      },
      weights: (layer, neuron) => model.then((m) => net.incomingWeights(m, layer, neuron)),
    };
  }

  function chooseBackend(name) {
    if (name === "static") return staticBackend();
    if (name === "server" || !name) return serverBackend();
    throw new Error(`unknown backend ${name}`);
  }

  root.mojinetBackend = { serverBackend, staticBackend, chooseBackend, Busy };
})(typeof window !== "undefined" ? window : globalThis);
