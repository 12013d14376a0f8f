// pokecard's page: plain DOM, no build step. Everything shown goes through textContent or
// attribute setters, never innerHTML: card names come from catalogue files.
"use strict";

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  let body = null;
  try { body = await r.json(); } catch (_) { body = { detail: r.statusText }; }
  if (!r.ok) { const err = new Error(body.detail || r.statusText); err.status = r.status; err.body = body; throw err; }
  return body;
}

// -- views ----------------------------------------------------------------------------
for (const b of document.querySelectorAll(".tab")) {
  b.addEventListener("click", () => show(b.dataset.view));
}
function show(view) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.view === view);
  $("#view-scan").hidden = view !== "scan";
  $("#view-collection").hidden = view !== "collection";
  if (view === "collection") loadCollection();
}

// -- scan -----------------------------------------------------------------------------
function cardLine(c) {
  return [c.set_name || c.set_code, c.number].filter(Boolean).join(" · ");
}

function renderResult(li, r) {
  li.replaceChildren();
  li.className = "result";
  li.dataset.status = r.status;
  if (r.scan_id != null) li.dataset.scanId = r.scan_id;
  const c = r.card;
  li.append(c ? el("img", { class: "card", src: c.image, alt: c.name }) : el("div", { class: "card" }));
  const body = el("div");
  body.append(el("h3", { class: "name", text: c ? c.name : (r.status === "error" ? "Could not read the photo" : "No match") }));
  if (c) body.append(el("div", { class: "set", text: cardLine(c) }));
  const meta = el("div", {}, el("span", { class: "status " + r.status, text: r.status }));
  meta.append(" ", el("span", { class: "file", text: r.file }));
  if (r.score != null) meta.append(" ", el("span", { class: "score", text: "score " + r.score }));
  if (r.duplicate) meta.append(" ", el("em", { text: "(already scanned: not counted again)" }));
  body.append(meta);
  if (r.error) body.append(el("div", { class: "error-msg", text: r.error }));
  if (r.scan_id != null) {
    if (r.alternatives && r.alternatives.length) {
      body.append(el("div", { class: "hint", text: c ? "Not this card? Pick the right one:" : "Is it one of these?" }));
      const alts = el("div", { class: "alts" });
      for (const a of r.alternatives) alts.append(thumb(a, () => applyFix(li, r, a)));
      body.append(alts);
    }
    const results = el("div", { class: "alts search-results" });
    const input = el("input", { class: "search", type: "search", placeholder: "Search the catalogue by name or number" });
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = input.value.trim();
        results.replaceChildren();
        if (!q) return;
        const { cards } = await api("api/cards?q=" + encodeURIComponent(q));
        for (const a of cards) results.append(thumb(a, () => applyFix(li, r, a)));
        if (!cards.length) results.append(el("span", { class: "hint", text: "no card matches" }));
      }, 200);
    });
    body.append(input, results);
  }
  li.append(body);
}

function thumb(card, onclick) {
  return el("button", { class: "alt", title: card.name + " " + cardLine(card), "data-card-id": card.card_id, onclick },
    el("img", { src: card.image, alt: "" }), el("span", { text: card.name }), el("small", { text: card.number }));
}

async function applyFix(li, r, card) {
  try {
    await api(`api/scans/${r.scan_id}/fix`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ card_id: card.card_id }),
    });
    const alts = [r.card, ...(r.alternatives || [])].filter((a) => a && a.card_id !== card.card_id);
    renderResult(li, { ...r, card, status: "ok", fixed: true, alternatives: alts });
    li.dataset.fixed = "1";
  } catch (e) {
    li.append(el("div", { class: "error-msg", text: "fix failed: " + e.message }));
  }
}

const progress = { queued: 0, done: 0 }; // over every drop of this page, not one batch

async function uploadAll(files) {
  const list = [...files];
  progress.queued += list.length;
  for (const f of list) {
    const li = el("li", { class: "result pending" }, el("span", { text: "recognizing " + f.name + " …" }));
    $("#results").prepend(li);
    const fd = new FormData();
    fd.append("files", f, f.name);
    try {
      const { results } = await api("api/scan", { method: "POST", body: fd });
      renderResult(li, results[0]);
    } catch (e) {
      renderResult(li, { status: "error", file: f.name, error: e.message, scan_id: null });
    }
    progress.done += 1;
    $("#scan-progress").textContent = `${progress.done} of ${progress.queued} photo(s) done`;
  }
}

const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); uploadAll(e.dataTransfer.files); });
$("#files").addEventListener("change", (e) => { uploadAll(e.target.files); e.target.value = ""; });

// -- live mode: frames to the server a few times a second, the server votes ---------------
const live = { stream: null, timer: null, busy: false, session: null };
const FRAME_MS = 300;

async function startLive() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("#live-status").textContent = "no camera here (a phone needs https, or use choose files)";
    return;
  }
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: 1280 } });
  } catch (e) {
    $("#live-status").textContent = "camera refused: " + e.message;
    return;
  }
  live.session = "s" + Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
  const v = $("#live-video");
  v.srcObject = live.stream;
  v.hidden = false;
  await v.play();
  $("#live-start").hidden = true;
  $("#live-stop").hidden = false;
  live.timer = setInterval(sendFrame, FRAME_MS);
}

function stopLive() {
  clearInterval(live.timer);
  if (live.stream) for (const t of live.stream.getTracks()) t.stop();
  live.stream = null;
  $("#live-video").hidden = true;
  $("#live-start").hidden = false;
  $("#live-stop").hidden = true;
  $("#live-status").textContent = "";
}

async function sendFrame() {
  const v = $("#live-video");
  if (live.busy || !v.videoWidth) return; // one frame in flight at a time
  live.busy = true;
  try {
    const c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext("2d").drawImage(v, 0, 0);
    const blob = await new Promise((res) => c.toBlob(res, "image/jpeg", 0.9));
    const out = await api("api/live?session=" + live.session, { method: "POST", body: blob, headers: { "Content-Type": "image/jpeg" } });
    const f = out.frame;
    $("#live-status").textContent = f.status === "ok" ? "seeing " + f.card.name : f.status;
    if (out.stable) {
      const li = el("li", { "data-source": "live" });
      $("#results").prepend(li);
      renderResult(li, out.stable);
    }
  } catch (e) {
    $("#live-status").textContent = "frame failed: " + e.message;
  } finally {
    live.busy = false;
  }
}
$("#live-start").addEventListener("click", startLive);
$("#live-stop").addEventListener("click", stopLive);

// -- collection -----------------------------------------------------------------------
const FINISHES = { normal: "Normal", holo: "Holo", reverse_holo: "Reverse holo" };
const CONDITIONS = { near_mint: "Near Mint", lightly_played: "Lightly Played", moderately_played: "Moderately Played", heavily_played: "Heavily Played", damaged: "Damaged" };

function select(options, value, onchange) {
  const s = el("select", { onchange });
  for (const [k, label] of Object.entries(options)) {
    const o = el("option", { value: k, text: label });
    if (k === value) o.selected = true;
    s.append(o);
  }
  return s;
}

function msg(text) { $("#collection-msg").replaceChildren(...(Array.isArray(text) ? text : [text])); }

async function edit(it, change) {
  // a rendered line is edited once, then drawn again at its new version: a second event from
  // the old line (a blur as the table is redrawn) would send a stale version
  if (it.sent) return;
  it.sent = true;
  try {
    await api("api/items/" + it.id, {
      method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ version: it.version, ...change }),
    });
    msg("saved");
  } catch (e) {
    msg(e.status === 409 ? "changed elsewhere meanwhile: reloaded, please redo your edit" : "not saved: " + e.message);
  }
  loadCollection(false);
}

async function remove(it) {
  await api("api/items/" + it.id, { method: "DELETE" });
  const undo = el("button", { id: "undo", text: "Undo", onclick: async () => { await api(`api/items/${it.id}/undo`, { method: "POST" }); msg("restored"); loadCollection(false); } });
  msg([`deleted ${it.name} `, undo]);
  loadCollection(false);
}

async function loadCollection(clear = true) {
  if (clear) msg("");
  const { items, totals } = await api("api/collection");
  const body = $("#collection tbody");
  body.replaceChildren();
  for (const it of items) {
    const qty = el("input", { type: "number", min: "0", value: String(it.quantity), class: "qty" });
    qty.addEventListener("change", () => edit(it, { quantity: Number(qty.value) }));
    const lang = el("input", { value: it.language, size: "8", class: "lang" });
    lang.addEventListener("change", () => edit(it, { language: lang.value }));
    body.append(el("tr", { "data-item-id": String(it.id), "data-card-id": it.card_id },
      el("td", {}, el("img", { src: "api/card-image?id=" + encodeURIComponent(it.card_id), alt: "" })),
      el("td", { class: "name", text: it.name }),
      el("td", { text: it.set_name || it.set_code }),
      el("td", { text: it.number }),
      el("td", {}, qty),
      el("td", {}, select(FINISHES, it.finish, (e) => edit(it, { finish: e.target.value }))),
      el("td", {}, select(CONDITIONS, it.condition, (e) => edit(it, { condition: e.target.value }))),
      el("td", {}, lang),
      el("td", { text: it.added.slice(0, 10) }),
      el("td", {}, el("button", { class: "delete", text: "Delete", onclick: () => remove(it) }))));
  }
  const tb = $("#totals tbody");
  tb.replaceChildren();
  for (const t of totals) tb.append(el("tr", {}, el("td", { text: t.set_name || t.set_code }), el("td", { text: String(t.cards) }), el("td", { text: String(t.copies) })));
}

$("#import").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (!f) return;
  const fd = new FormData();
  fd.append("file", f, f.name);
  try {
    const r = await api("api/import", { method: "POST", body: fd });
    msg(`${f.name}: ${r.set} line(s) imported`);
  } catch (err) { msg("import failed: " + err.message); }
  e.target.value = "";
  loadCollection(false);
});

api("api/info").then((i) => { $("#info").textContent = `${i.cards} cards · ${i.mode}`; }).catch(() => {});
