// Learn my hand (mojinet serve only): "Not what I wrote?" saves the drawing — its strokes and
// its bitmap — with the character the user picks from the candidates or types, to the user's
// samples folder (POST /api/samples); "Learn my hand" fine-tunes the network on the saved
// samples in the background (POST /api/adapt, then GET /api/adapt until it is done) and reads
// the drawing again with the adapted network. Hooks into app.js through window.mojinet.
"use strict";

(function () {
  const state = window.mojinet;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 400;
  const learn = { enabled: false, saved: 0, adapting: false };
  state.learn = learn;   // for the tests

  async function call(method, url, body) {
    const init = { method, headers: { "Content-Type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const r = await fetch(url, init);
    const answer = await r.json().catch(() => ({ detail: `HTTP ${r.status}` }));
    if (!r.ok) throw new Error(answer.detail || `HTTP ${r.status}`);
    return answer;
  }

  function say(text, error = false) {
    const status = $("learn-status");
    status.textContent = text;
    status.classList.toggle("error", error);
  }

  // The drawing as the API takes it: pad pixels, t in ms since the first point.
  function strokes() {
    const t0 = state.strokes[0][0][2];
    return state.strokes.map((s) => s.map((p) => [
      Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10, Math.max(0, Math.round(p[2] - t0))]));
  }

  function openTeach() {
    const choices = $("teach-choices");
    choices.innerHTML = "";
    for (const c of (state.lastResult ? state.lastResult.top.slice(1, 6) : [])) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.textContent = c.label;
      b.addEventListener("click", () => save(c.label));
      choices.appendChild(b);
    }
    $("teach-input").value = "";
    $("teach").hidden = false;
    $("teach-input").focus();
  }

  async function save(label) {
    if (!state.strokes.length || !label) return;
    say(`Saving your ${label}…`);
    try {
      const pad = $("pad");
      const answer = await call("POST", "api/samples", {
        label, strokes: strokes(), box: [pad.width, pad.height], image: pad.toDataURL("image/png"),
      });
      learn.saved = answer.total;
      $("teach").hidden = true;
      say(`Saved as ${answer.label} (${answer.count} of ${answer.label}, ${answer.total} in all) ` +
        `in ${answer.folder}.`);
      $("adapt").disabled = learn.adapting;
    } catch (err) {
      say(`Not saved: ${err.message}`, true);
    }
  }

  async function adapt() {
    $("adapt").disabled = true;
    learn.adapting = true;
    try {
      let job = await call("POST", "api/adapt");
      while (job.state === "running") {
        say(job.message);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        job = await call("GET", "api/adapt");
      }
      say(job.message, job.state === "failed");
      document.body.dataset.adapted = job.model || "";
      if (job.state === "done") state.repredict();
    } catch (err) {
      say(`Cannot adapt: ${err.message}`, true);
    } finally {
      learn.adapting = false;
      $("adapt").disabled = learn.saved === 0;
    }
  }

  $("wrong").addEventListener("click", openTeach);
  $("teach-cancel").addEventListener("click", () => { $("teach").hidden = true; });
  $("teach").addEventListener("submit", (ev) => {
    ev.preventDefault();
    save($("teach-input").value.trim());
  });
  $("adapt").addEventListener("click", adapt);
  state.onShow.push((result) => {
    $("wrong").disabled = !result;
    if (!result) $("teach").hidden = true;
  });

  async function start() {
    while (!state.info) {   // app.js is loading the model's description
      if (document.body.dataset.state === "failed") return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!state.info.learn || !state.info.learn.enabled) return;
    learn.enabled = true;
    $("learn").hidden = false;
    try {
      const info = await call("GET", "api/samples");
      learn.saved = info.total;
      $("adapt").disabled = info.total === 0;
      say(info.total ? `${info.total} of your samples in ${info.folder}.` : "");
    } catch (err) {
      say(err.message, true);
    }
  }
  start();
})();
