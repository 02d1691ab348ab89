// mojinet in the browser: a drawing's preprocessing and the network's forward pass, with no server.
// The static export (`mojinet export MODEL --web DIR`) runs these; `mojinet serve` runs the same
// steps in Python. Both must give the same numbers, so each step below follows its Python source:
//   toInput      mojinet/data/images.py: to_grey, ink_map, fit_and_center (Pillow's resize and
//                NumPy's median, percentile and sum reproduced operation by operation)
//   directionPlanes  mojinet/data/directions.py: the stroke-direction planes a
//                "pixels+directions" model reads beside the pixels (networkInputs)
//   forward      mojinet/nn/network.py: a' = σ(W·a + b) layer by layer (here in float64)
//   readout      mojinet/web/readout.py and mojinet/scores.py: candidates, activations, shares
// No DOM here: plain functions on typed arrays, so a test can call them directly.
"use strict";

(function (root) {
  // ---------------------------------------------------------------- small numerical helpers
  // Python's round(): halves go to the even neighbour (round(2.5) == 2, round(-0.5) == 0).
  function roundHalfEven(x) {
    const f = Math.floor(x), d = x - f;
    if (d < 0.5) return f;
    if (d > 0.5) return f + 1;
    return f % 2 === 0 ? f : f + 1;
  }

  // NumPy's pairwise summation of float64 (what ndarray.sum() does for a contiguous array), so
  // that sums agree to the last bit: blocks of up to 128 in eight running sums, halves above.
  function pairwiseSum(a, start, n) {
    if (n < 8) {
      let s = 0;
      for (let i = 0; i < n; i++) s += a[start + i];
      return s;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(a[start + j]);
      let i = 8;
      for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
      let s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) s += a[start + i];
      return s;
    }
    let n2 = Math.floor(n / 2);
    n2 -= n2 % 8;
    return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
  }

  function median(values) {          // np.median
    const s = Float64Array.from(values).sort();
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  function percentile(values, p) {   // np.percentile, method "linear"
    const s = Float64Array.from(values).sort();
    const n = s.length, q = p / 100;
    const virtual = n * q + (1 + q * -1) - 1;
    if (virtual >= n - 1) return s[n - 1];
    if (virtual < 0) return s[0];
    const below = Math.floor(virtual), t = virtual - below;
    const a = s[below], b = s[below + 1], diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  // ---------------------------------------------------------------- preprocessing
  class BlankDrawing extends Error {}

  // RGBA bytes of an opaque canvas → grey in [0, 1] (0 = black), Pillow's convert("L").
  function toGrey(rgba, w, h) {
    const grey = new Float64Array(w * h);
    for (let k = 0; k < w * h; k++) {
      const r = rgba[4 * k], g = rgba[4 * k + 1], b = rgba[4 * k + 2];
      grey[k] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
    }
    return grey;
  }

  // Ink = 1, background = 0: polarity from the border, contrast stretched, faint noise dropped.
  function inkMap(grey, w, h, noise = 0.15) {
    const border = [];
    for (let x = 0; x < w; x++) border.push(grey[x]);
    for (let x = 0; x < w; x++) border.push(grey[(h - 1) * w + x]);
    for (let y = 0; y < h; y++) border.push(grey[y * w]);
    for (let y = 0; y < h; y++) border.push(grey[y * w + w - 1]);
    let background = median(border);
    const invert = background > 0.5;
    const ink = grey.map((v) => (invert ? 1.0 - v : v));
    background = Math.min(background, 1.0 - background);
    const peak = percentile(ink, 99.9);
    if (peak - background < 0.1) {
      throw new BlankDrawing("the image looks blank (no strokes stand out from the background); "
        + "draw or scan a character with clear contrast");
    }
    for (let k = 0; k < ink.length; k++) {
      const v = Math.min(Math.max((ink[k] - background) / (peak - background), 0.0), 1.0);
      ink[k] = v < noise ? 0.0 : v;
    }
    return ink;
  }

  // Pillow's filters for resize(): BOX when shrinking, BILINEAR when growing.
  const BOX = { support: 0.5, at: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) };
  const BILINEAR = { support: 1.0, at: (x) => { x = Math.abs(x); return x < 1.0 ? 1.0 - x : 0.0; } };

  // Pillow's precompute_coeffs: for each output pixel, its first input pixel, how many, weights.
  function coefficients(inSize, outSize, filter) {
    const scale = inSize / outSize;
    const filterscale = Math.max(scale, 1.0);
    const support = filter.support * filterscale;
    const taps = [];
    for (let xx = 0; xx < outSize; xx++) {
      const centre = 0 + (xx + 0.5) * scale;
      const ss = 1.0 / filterscale;
      const xmin = Math.max(0, Math.trunc(centre - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(centre + support + 0.5)) - xmin;
      const k = [];
      let ww = 0.0;
      for (let x = 0; x < xmax; x++) {
        const v = filter.at((x + xmin - centre + 0.5) * ss);
        k.push(v);
        ww += v;
      }
      if (ww !== 0.0) for (let x = 0; x < xmax; x++) k[x] /= ww;
      taps.push({ xmin, k });
    }
    return taps;
  }

  // Image.resize of a mode "F" (float32) image: a horizontal pass, then a vertical one, each
  // summing in float64 and storing float32, as Pillow's ImagingResample does.
  function resizeF(src, w, h, newW, newH, filter) {
    let cur = src, cw = w;
    if (newW !== w) {
      const taps = coefficients(w, newW, filter);
      const out = new Float32Array(newW * h);
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < newW; xx++) {
          const { xmin, k } = taps[xx];
          let s = 0.0;
          for (let x = 0; x < k.length; x++) s += cur[y * cw + x + xmin] * k[x];
          out[y * newW + xx] = s;
        }
      }
      cur = out;
      cw = newW;
    }
    if (newH !== h) {
      const taps = coefficients(h, newH, filter);
      const out = new Float32Array(cw * newH);
      for (let yy = 0; yy < newH; yy++) {
        const { xmin: ymin, k } = taps[yy];
        for (let x = 0; x < cw; x++) {
          let s = 0.0;
          for (let y = 0; y < k.length; y++) s += cur[(y + ymin) * cw + x] * k[y];
          out[yy * cw + x] = s;
        }
      }
      cur = out;
    }
    return cur;
  }

  // images.stroke_width: over the pixels of ink ≥ 0.5, the median of the shorter of the
  // horizontal and vertical runs through each.
  function strokeWidth(ink, w, h) {
    const across = new Int32Array(w * h);
    for (let y = 0; y < h; y++) {          // horizontal runs
      for (let x = 0; x < w;) {
        if (ink[y * w + x] < 0.5) { x++; continue; }
        let e = x;
        while (e < w && ink[y * w + e] >= 0.5) e++;
        for (let k = x; k < e; k++) across[y * w + k] = e - x;
        x = e;
      }
    }
    for (let x = 0; x < w; x++) {          // vertical runs: keep the shorter
      for (let y = 0; y < h;) {
        if (ink[y * w + x] < 0.5) { y++; continue; }
        let e = y;
        while (e < h && ink[e * w + x] >= 0.5) e++;
        for (let k = y; k < e; k++) across[k * w + x] = Math.min(across[k * w + x], e - y);
        y = e;
      }
    }
    const widths = [];
    for (let k = 0; k < w * h; k++) if (ink[k] >= 0.5) widths.push(across[k]);
    return widths.length ? median(widths) : 0;
  }

  // images.even_strokes: strokes thinner than THIN of the ink's longer side widened to about
  // EVEN_PEN of it (a maximum over a disk; beyond the picture is 0); others left as they are.
  const THIN = 0.04, EVEN_PEN = 0.05;
  function evenStrokes(ink, w, h) {
    let r0 = -1, r1 = -1, c0 = w, c1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (ink[y * w + x] !== 0) { if (r0 < 0) r0 = y; r1 = y; c0 = Math.min(c0, x); c1 = Math.max(c1, x); }
      }
    }
    if (r0 < 0) return ink;
    const side = Math.max(r1 - r0 + 1, c1 - c0 + 1), width = strokeWidth(ink, w, h);
    if (width >= THIN * side) return ink;
    const r = Math.max(1, roundHalfEven((EVEN_PEN * side - width) / 2));
    const disk = [];
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dy * dy + dx * dx <= r * r + r) disk.push([dy, dx]);
    const out = new Float64Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let m = 0;
        for (const [dy, dx] of disk) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && ink[yy * w + xx] > m) m = ink[yy * w + xx];
        }
        out[y * w + x] = m;
      }
    }
    return out;
  }

  // Even thin strokes out, crop to the ink, scale the longer side to `box`, centre by the
  // centre of mass in size×size.
  function fitAndCentre(ink, w, h, size, box) {
    ink = evenStrokes(ink, w, h);
    let r0 = -1, r1 = -1, c0 = w, c1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (ink[y * w + x] !== 0) {
          if (r0 < 0) r0 = y;
          r1 = y;
          c0 = Math.min(c0, x);
          c1 = Math.max(c1, x);
        }
      }
    }
    if (r0 < 0) throw new BlankDrawing("the image looks blank: no ink found");
    const ch = r1 - r0 + 1, cw = c1 - c0 + 1;
    const scale = box / Math.max(ch, cw);
    const newH = Math.max(1, roundHalfEven(ch * scale)), newW = Math.max(1, roundHalfEven(cw * scale));
    const crop = new Float32Array(ch * cw);  // (crop * 255).astype(np.float32)
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) crop[y * cw + x] = ink[(y + r0) * w + x + c0] * 255;
    }
    const resized = resizeF(crop, cw, ch, newW, newH, scale < 1 ? BOX : BILINEAR);
    const small = Float64Array.from(resized, (v) => Math.min(Math.max(v / 255.0, 0.0), 1.0));
    const rows = new Float64Array(small.length), cols = new Float64Array(small.length);
    for (let k = 0; k < small.length; k++) {
      rows[k] = Math.floor(k / newW) * small[k];
      cols[k] = (k % newW) * small[k];
    }
    const total = pairwiseSum(small, 0, small.length);
    const cy = pairwiseSum(rows, 0, rows.length) / total, cx = pairwiseSum(cols, 0, cols.length) / total;
    const top = Math.min(Math.max(roundHalfEven(size / 2 - cy), 0), size - newH);
    const left = Math.min(Math.max(roundHalfEven(size / 2 - cx), 0), size - newW);
    const out = new Float32Array(size * size);
    for (let y = 0; y < newH; y++) {
      for (let x = 0; x < newW; x++) out[(top + y) * size + left + x] = small[y * newW + x];
    }
    return out;
  }

  // An opaque canvas's RGBA pixels (w×h) → the network's input: (size·size) float32 in [0, 1].
  function toInput(rgba, w, h, size, box) {
    return fitAndCentre(inkMap(toGrey(rgba, w, h), w, h), w, h, size, box);
  }

  // ---------------------------------------------------------------- direction planes
  // data/directions.py's direction_planes for one h×w image x (ink = 1), zero outside it:
  //   Sobel gradients, y up:  gx = right column − left column, gy = row above − row below,
  //                           each column (row) of three weighted 1, 2, 1;
  //   edge strength           m = min(1, √(gx² + gy²) / 4)   (a step from 0 to 1: m = 1);
  //   stroke direction        φ = (atan2(gy, gx) + 90°) mod 180°, across the gradient;
  //   soft bins               u = φ / 45° = k + t (k whole, 0 ≤ t < 1): plane k gets (1 − t)·m,
  //                           plane (k + 1) mod 4 gets t·m  (planes 0°, 45°, 90°, 135°);
  //   pooling                 each plane's mean over pool × pool blocks, zero-padded to whole
  //                           blocks: ⌈h/pool⌉ × ⌈w/pool⌉ cells.
  // Returns Float32Array(4·⌈h/pool⌉·⌈w/pool⌉): plane by plane, each row by row.
  const N_PLANES = 4, SOBEL_STEP = 4;
  function directionPlanes(x, h, w, pool) {
    const at = (r, c) => (r >= 0 && r < h && c >= 0 && c < w ? x[r * w + c] : 0);
    const pw = Math.ceil(w / pool), cells = Math.ceil(h / pool) * pw;
    const sums = new Float64Array(N_PLANES * cells);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const gx = (at(r - 1, c + 1) + 2 * at(r, c + 1) + at(r + 1, c + 1))
          - (at(r - 1, c - 1) + 2 * at(r, c - 1) + at(r + 1, c - 1));
        const gy = (at(r - 1, c - 1) + 2 * at(r - 1, c) + at(r - 1, c + 1))
          - (at(r + 1, c - 1) + 2 * at(r + 1, c) + at(r + 1, c + 1));
        const m = Math.min(1, Math.sqrt(gx * gx + gy * gy) / SOBEL_STEP);
        if (m === 0) continue;                              // no edge: no direction
        const u = ((Math.atan2(gy, gx) * 4 / Math.PI + 2) % N_PLANES + N_PLANES) % N_PLANES;
        const k = Math.floor(u), t = u - k;                  // u in [0, 4)
        const cell = Math.floor(r / pool) * pw + Math.floor(c / pool);
        sums[(k % N_PLANES) * cells + cell] += (1 - t) * m;
        sums[((k + 1) % N_PLANES) * cells + cell] += t * m;
      }
    }
    return Float32Array.from(sums, (s) => Math.min(1, s / (pool * pool)));
  }

  // Model.inputs: what the input neurons read of an image x (h·w): the pixels as they are, or
  // ("pixels+directions") the pixels, then their four pooled direction planes.
  function networkInputs(features, x, h, w) {
    if (!features || features.name === "pixels") return x;
    if (features.name !== "pixels+directions") {
      throw new Error(`this page cannot make ${features.name} inputs`);
    }
    const planes = directionPlanes(x, h, w, features.pool);
    const inputs = new Float32Array(x.length + planes.length);
    inputs.set(x);
    inputs.set(planes, x.length);
    return inputs;
  }

  // ---------------------------------------------------------------- the network
  const ACTIVATIONS = {
    sigmoid: (z) => z.map((v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
    relu: (z) => z.map((v) => (v > 0 ? v : 0)),
    tanh: (z) => z.map(Math.tanh),
    softmax: (z) => {
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / sum);
    },
  };

  // layers: [{W: Float32Array (fanIn·fanOut, row-major: W[i·fanOut + j]), b, fanIn, fanOut,
  // activation}] → every layer's activations after the input, each a Float64Array.
  function forward(layers, x) {
    let a = Float64Array.from(x);
    const out = [];
    for (const layer of layers) {
      const z = Float64Array.from(layer.b);          // z = W·a + b, with W stored (fan_in, fan_out)
      for (let i = 0; i < layer.fanIn; i++) {
        const ai = a[i];
        if (ai === 0) continue;
        const row = i * layer.fanOut;
        for (let j = 0; j < layer.fanOut; j++) z[j] += layer.W[row + j] * ai;
      }
      const sigma = ACTIVATIONS[layer.activation];
      if (!sigma) throw new Error(`unknown activation ${layer.activation}`);
      a = sigma(z);
      out.push(a);
    }
    return out;
  }

  // scores.candidates: the k best classes of the output activations a.
  function candidates(a, classes, kind, k) {
    let s = Array.from(a);
    if (kind !== "probability") {
      const clipped = s.map((v) => Math.max(v, 0));
      const total = clipped.reduce((t, v) => t + v, 0);
      s = clipped.map((v) => (total > 0 ? v / total : 1 / clipped.length));
    }
    const order = s.map((_, j) => j).sort((i, j) => s[j] - s[i]);
    return order.slice(0, Math.max(1, Math.min(k, s.length))).map((j) => (
      { label: classes[j], index: j, activation: a[j], share: s[j], probability: s[j] }));
  }

  // readout.readout: what the page shows for one image x (h·w), read as the model reads it.
  function readout(model, x, top) {
    const [h, w] = model.info.image_shape;
    const acts = forward(model.layers, networkInputs(model.features, x, h, w));
    const input = [];
    for (let y = 0; y < h; y++) input.push(Array.from(x.subarray(y * w, (y + 1) * w)));
    return {
      top: candidates(acts[acts.length - 1], model.info.classes, model.info.output, top),
      output: model.info.output,
      input,
      layers: acts.map((a, l) => ({ size: a.length, activation: model.layers[l].activation,
        values: Array.from(a) })),
    };
  }

  // readout.incoming_weights: the weights into one neuron of `layer` (1 = first after the input).
  function incomingWeights(model, layer, neuron) {
    const L = model.layers[layer - 1];
    if (!L) throw new Error(`layer must be between 1 and ${model.layers.length}; got ${layer}`);
    if (!(neuron >= 0 && neuron < L.fanOut)) {
      throw new Error(`layer ${layer} has ${L.fanOut} neurons (0 to ${L.fanOut - 1}); got ${neuron}`);
    }
    const [h, w] = model.info.image_shape;
    const n = layer === 1 ? h * w : L.fanIn;   // layer 1: the pixels' weights (not the planes')
    const weights = [];
    for (let i = 0; i < n; i++) weights.push(L.W[i * L.fanOut + neuron]);
    return {
      layer, neuron,
      label: layer === model.layers.length ? model.info.classes[neuron] : null,
      shape: layer === 1 ? model.info.image_shape.slice() : [L.fanIn],
      weights, bias: L.b[neuron],
      min: Math.min(...weights), max: Math.max(...weights),
    };
  }

  root.mojinetNet = { roundHalfEven, pairwiseSum, median, percentile, toGrey, inkMap, resizeF,
    fitAndCentre, toInput, directionPlanes, networkInputs, forward, candidates, readout, incomingWeights, BlankDrawing };
})(typeof window !== "undefined" ? window : globalThis);
