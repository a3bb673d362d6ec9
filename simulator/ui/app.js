// The ftpsgw dashboard. Every value from the gateway is put in the page as text (never as
// HTML), reads come from /ui/api and the live stream /ui/events, and every change is a
// control API call under /control/v1 made with the user's token.
"use strict";

const API = "/control/v1";
const MAX_ROWS = 300; // session rows kept in the page; older ones come back with "Older sessions"

// el(tag, props, ...children): strings become text nodes, never markup.
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (id) => document.getElementById(id);
const fmtTime = (t) => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");
const fmtSize = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B");

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}

// ---- requirements -------------------------------------------------------------------------
let requirements = new Map();
function reqLink(id) {
  const r = requirements.get(id);
  return el("a", { href: "#req-" + id, title: r ? r.title : id, class: "req-link" }, id);
}
async function loadRequirements() {
  const list = await getJSON("/ui/api/requirements");
  const box = $("requirement-list");
  box.replaceChildren();
  for (const r of list) {
    requirements.set(r.ID, r);
    box.append(el("div", { class: "req", id: "req-" + r.ID },
      el("span", { class: "id" }, r.ID), el("strong", {}, r.Title), " ",
      el("span", { class: "chip" }, r.party), el("span", { class: "chip" }, r.Level), el("span", { class: "chip" }, r.Basis),
      r.Danish ? el("div", { class: "da", lang: "da" }, "Dansk: " + r.Danish) : null,
      el("div", {}, r.English),
      el("div", { class: "note" }, "Source: " + r.Source)));
  }
}

// ---- sessions -----------------------------------------------------------------------------
const shown = new Map(); // session id -> {row, detail, data}
let oldestShown = 0; // first_seq of the oldest row shown
let expanded = new Set();
// #from=A&to=B (a certification report's link): only the sessions of journal events A..B
let range = null;
function readRange() {
  const m = /^#from=(\d+)&to=(\d+)$/.exec(location.hash);
  range = m ? { from: Number(m[1]), to: Number(m[2]) } : null;
  $("filter").hidden = !range;
  if (range) $("filter-text").textContent = `Showing the sessions of journal events ${range.from + 1}–${range.to} (one scenario of a certification run).`;
}

function findingsList(s) {
  const ul = el("ul", { class: "findings" });
  for (const f of s.findings || []) {
    // a rule every requirement of which is a SHOULD is a warning, not a failure
    const should = f.broke && (f.rules || []).length > 0 && f.rules.every((id) => requirements.has(id) && requirements.get(id).Level === "SHOULD");
    ul.append(el("li", { class: !f.broke ? "ok" : should ? "warn" : "broke" }, !f.broke ? "✓ " : should ? "⚠ " : "✗ ", f.text,
      should ? " (SHOULD)" : "", (f.rules || []).map(reqLink)));
  }
  if (s.findings_dropped) ul.append(el("li", { class: "note" }, s.findings_dropped + " earlier findings not kept"));
  return ul;
}

function sessionRow(s) {
  const broke = (s.findings || []).filter((f) => f.broke).length;
  const warned = (s.findings || []).filter((f) => f.broke && (f.rules || []).length > 0 &&
    f.rules.every((id) => requirements.has(id) && requirements.get(id).Level === "SHOULD")).length;
  const failed = broke - warned;
  const resumed = (s.data || []).filter((d) => d.resumed).length;
  const uploads = (s.transfers || []).filter((t) => t.kind === "upload");
  const tls = s.tls === "refused" ? el("span", { class: "chip bad" }, "refused")
    : el("span", {}, [s.tls_version, s.cipher].filter(Boolean).join(" "));
  const row = el("tr", { class: "session" + (failed ? " broke" : warned ? " warned" : ""), "data-session": s.id },
    el("td", { class: "mono" }, fmtTime(s.started), s.open ? el("span", { class: "chip good" }, "open") : null),
    el("td", { class: "mono" }, s.id),
    el("td", { class: "mono" }, s.remote || ""),
    el("td", {}, el("div", {}, s.identity || ""), el("div", { class: "mono" }, s.username || ""),
      s.login ? el("span", { class: "chip " + (s.login === "ok" ? "good" : "bad") }, "login " + s.login) : null),
    el("td", {}, tls, s.prot ? el("span", { class: "chip" }, "PROT " + s.prot) : null, s.mode ? el("span", { class: "chip" }, s.mode) : null),
    el("td", {}, (s.data || []).length ? `${(s.data || []).length} (${resumed} resumed)` : ""),
    el("td", {}, uploads.length ? `${uploads.length} up` : "", uploads.some((t) => t.ok && !t.close_notify) ? el("span", { class: "chip bad" }, "no close_notify") : null,
      (s.transfers || []).length - uploads.length ? ` ${(s.transfers || []).length - uploads.length} down` : ""),
    el("td", {}, failed ? el("span", { class: "chip bad" }, failed + " broken") : null, warned ? el("span", { class: "chip warn" }, warned + " SHOULD") : null,
      broke ? null : el("span", { class: "chip good" }, "none broken"), findingsList(s)));
  row.addEventListener("click", () => toggle(s.id));
  return row;
}

function sessionDetail(s) {
  const lines = el("div", { class: "lines mono" });
  if (s.lines_dropped) lines.append(el("div", { class: "note" }, `… ${s.lines_dropped} earlier lines`));
  for (const l of s.lines || []) lines.append(el("div", { class: l.dir === ">" ? "in" : "out" }, l.dir + " " + l.text));
  const data = el("ul", {}, (s.data || []).map((d) => el("li", {}, `data connection: ${d.tls_version || "?"} ${d.cipher || ""}, ${d.resumed ? "resumed the control session" : "NOT resumed"}${d.ok ? "" : ", refused: " + d.reason}`)));
  const transfers = el("ul", {}, (s.transfers || []).map((t) => el("li", {}, `${t.kind} ${t.path} ${fmtSize(t.size)}${t.ascii ? " (ASCII)" : ""}: ${t.ok ? "ok" : "refused"}${t.kind === "upload" && t.ok ? (t.close_notify ? ", ended with close_notify" : ", ended WITHOUT close_notify") : ""}${t.reason ? " — " + t.reason : ""}`)));
  return el("tr", { class: "detail", "data-detail": s.id }, el("td", { colspan: "8" },
    el("div", {}, s.listener ? "Listener: " + s.listener : "", s.end_reason ? " · ended: " + s.end_reason : "", s.fingerprint ? " · certificate SHA-256 " + s.fingerprint : ""),
    data, transfers, el("div", {}, "Commands (>) and replies (<):"), lines));
}

async function toggle(id) {
  const entry = shown.get(id);
  if (!entry) return;
  if (expanded.has(id)) {
    expanded.delete(id);
    if (entry.detail) entry.detail.remove();
    entry.detail = null;
    return;
  }
  expanded.add(id);
  try {
    const full = await getJSON("/ui/api/sessions/" + encodeURIComponent(id));
    entry.detail = sessionDetail(full);
    entry.row.after(entry.detail);
  } catch (e) { entry.row.after(el("tr", {}, el("td", { colspan: "8", class: "note" }, String(e)))); }
}

function place(s, fresh) {
  if (range && (s.last_seq <= range.from || s.first_seq > range.to)) return;
  const old = shown.get(s.id);
  const row = sessionRow(s);
  if (fresh) row.classList.add("fresh");
  const body = $("session-rows");
  if (old) {
    old.row.replaceWith(row);
    old.row = row;
    old.data = s;
    if (old.detail) { // refresh the open detail
      getJSON("/ui/api/sessions/" + encodeURIComponent(s.id)).then((full) => {
        const d = sessionDetail(full);
        if (old.detail) { old.detail.replaceWith(d); old.detail = d; }
      }).catch(() => {});
    }
    return;
  }
  // newest first, by first_seq
  let before = null;
  for (const r of body.children) {
    const e = shown.get(r.getAttribute("data-session"));
    if (e && e.data.first_seq < s.first_seq) { before = r; break; }
  }
  if (!before && shown.size > 0 && s.first_seq < oldestShown && shown.size >= MAX_ROWS) return; // older than the window
  body.insertBefore(row, before);
  shown.set(s.id, { row, data: s, detail: null });
  if (!oldestShown || s.first_seq < oldestShown) oldestShown = s.first_seq;
  while (shown.size > MAX_ROWS) { // drop the oldest row
    let oldest = null;
    for (const [id, e] of shown) if (!oldest || e.data.first_seq < oldest[1].data.first_seq) oldest = [id, e];
    oldest[1].row.remove();
    if (oldest[1].detail) oldest[1].detail.remove();
    shown.delete(oldest[0]);
    expanded.delete(oldest[0]);
    oldestShown = Math.min(...[...shown.values()].map((e) => e.data.first_seq));
    $("older").hidden = false;
  }
}

function showCounts(kept) {
  $("sessions-empty").hidden = shown.size > 0;
  $("sessions-count").textContent = shown.size ? `${shown.size} shown${kept ? ", " + kept + " kept by the gateway's dashboard" : ""}` : "";
}

async function loadSessions() {
  readRange();
  const page = await getJSON("/ui/api/sessions" + (range ? `?limit=500&from=${range.from}&to=${range.to}` : "?limit=100"));
  $("session-rows").replaceChildren();
  shown.clear(); expanded.clear(); oldestShown = 0;
  for (const s of page.sessions) place(s, false);
  $("older").hidden = !page.more;
  showCounts(page.kept);
  return page;
}

$("filter-clear").addEventListener("click", (e) => {
  e.preventDefault();
  history.replaceState(null, "", location.pathname);
  loadSessions().catch(() => {});
});

$("older").addEventListener("click", async () => {
  const page = await getJSON("/ui/api/sessions?limit=100&before=" + oldestShown);
  for (const s of page.sessions) {
    if (shown.has(s.id)) continue;
    const row = sessionRow(s);
    $("session-rows").append(row);
    shown.set(s.id, { row, data: s, detail: null });
    oldestShown = Math.min(oldestShown || s.first_seq, s.first_seq);
  }
  $("older").hidden = !page.more;
  showCounts(page.kept);
});

// ---- uploads and receipts -----------------------------------------------------------------
async function loadUploads() {
  const u = await getJSON("/ui/api/uploads");
  const groups = new Map();
  for (const s of u.uploads) {
    if (!groups.has(s.username)) groups.set(s.username, []);
    groups.get(s.username).push(s);
  }
  const box = $("upload-groups");
  box.replaceChildren();
  for (const [user, subs] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    const tb = el("tbody");
    for (const s of subs) {
      const receipts = el("td");
      for (const r of s.receipts) {
        const label = r.kind === "reply" ? "reply" : "_" + r.code + (r.error_code ? " " + r.error_code : "");
        receipts.append(el("span", { class: `chip receipt code${r.code}${r.deleted ? " gone" : ""}`, title: r.name, "data-receipt": r.name,
          onclick: () => showReceipt(r) }, label));
      }
      const due = s.next_at ? `${s.state}; next step due ${fmtTime(s.next_at)}` : s.state;
      tb.append(el("tr", { "data-upload": s.name },
        el("td", { class: "mono" }, fmtTime(s.received_at)), el("td", {}, s.service), el("td", { class: "mono" }, s.name),
        el("td", {}, fmtSize(s.size), s.ascii ? " ASCII" : "", s.reused ? el("span", { class: "chip bad" }, "reused name") : null),
        el("td", {}, due), receipts));
    }
    box.append(el("div", { class: "group" }, el("h3", {}, user),
      el("table", {}, el("thead", {}, el("tr", {}, ["received", "service", "file", "size", "state", "receipts"].map((h) => el("th", {}, h)))), tb)));
  }
  $("uploads-empty").hidden = u.uploads.length > 0;
  $("uploads-count").textContent = u.total ? `${u.uploads.length} newest of ${u.total}; gateway clock ${fmtTime(u.clock.now)} (${u.clock.mode})` : "";
}

async function showReceipt(r) {
  const c = await getJSON("/ui/api/receipt?id=" + r.id + "&name=" + encodeURIComponent(r.name));
  $("receipt-name").textContent = c.name;
  $("receipt-xml").textContent = c.content;
  $("receipt-view").hidden = false;
}
$("receipt-close").addEventListener("click", () => { $("receipt-view").hidden = true; });

// ---- state and switches -------------------------------------------------------------------
let state = null;
const token = () => sessionStorage.getItem("ftpsgw-token") || "";
$("token").addEventListener("change", (e) => sessionStorage.setItem("ftpsgw-token", e.target.value));

// call makes one control API request and reports its answer beside the switch and in the log.
async function call(method, path, body, result) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  const text = `${method} ${API}${path}${body === undefined ? "" : " " + JSON.stringify(body)}`;
  let line;
  try {
    const r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = r.status === 204 ? "" : await r.text();
    let msg = answer;
    try { msg = JSON.parse(answer).error || ""; } catch (_) { /* not JSON */ }
    line = `${r.status} ${r.ok ? "done" : "refused: " + msg}`;
    if (result) { result.textContent = line; result.className = "result " + (r.ok ? "good" : "bad"); }
  } catch (e) {
    line = "failed: " + e;
    if (result) { result.textContent = line; result.className = "result bad"; }
  }
  $("call-log").prepend(el("li", {}, el("code", {}, text), " → " + line));
  refreshState();
}

function sw(label, method, path, body, extra) {
  const result = el("span", { class: "result" });
  const b = el("button", { type: "button", onclick: () => call(method, path, typeof body === "function" ? body() : body, result) }, label);
  const shownBody = typeof body === "function" ? "{…}" : body === undefined ? "" : " " + JSON.stringify(body);
  return el("div", { class: "switch" }, extra || null, b, result, el("code", {}, `${method} ${API}${path}${shownBody}`));
}

function renderState(st) {
  state = st;
  $("token-box").hidden = !st.token_required;
  const h = st.health;
  $("clock").textContent = `clock ${h.clock.mode}: ${fmtTime(h.clock.now)}`;
  $("backend-chip").textContent = "backend " + (h.backend_up ? "up" : "down");
  $("backend-chip").className = "chip " + (h.backend_up ? "good" : "bad");
  $("security-chip").textContent = "security system " + (h.security_reachable ? "reachable" : "unreachable");
  $("security-chip").className = "chip " + (h.security_reachable ? "good" : "bad");
  $("queue-chip").textContent = `${h.queue_depth} receipts to come`;
  $("lease-chip").textContent = st.lease ? `leased to ${st.lease.holder} until ${fmtTime(st.lease.expires)}` : "no lease";
  $("lease-chip").className = "chip" + (st.lease ? " bad" : "");

  const be = $("card-backend");
  be.replaceChildren(el("h3", {}, "Backend"), el("div", {}, "Link: " + (st.backend.up ? "up" : "down")),
    sw("Take the backend down", "PUT", "/backend", { up: false }), sw("Bring it up", "PUT", "/backend", { up: true }));
  const rules = el("ul");
  for (const [svc, r] of Object.entries(st.backend.services || {})) rules.append(el("li", { class: "mono" }, `${svc}: ${JSON.stringify(r)}`));
  if (st.backend.default) rules.append(el("li", { class: "mono" }, `default: ${JSON.stringify(st.backend.default)}`));
  const svc = el("input", { size: "18", placeholder: "service, e.g. FTPSGW.Heartbeat", "aria-label": "service" });
  const action = el("select", { "aria-label": "action" }, el("option", {}, "accept"), el("option", {}, "reject"));
  const code = el("input", { size: "14", placeholder: "error code", "aria-label": "error code" });
  const delay = el("input", { size: "6", placeholder: "delay", "aria-label": "delay" });
  be.append(el("div", {}, "Per-service rules:"), rules,
    sw("Set the rule", "PUT", "/backend", () => {
      const rule = { action: action.value };
      if (code.value) rule.error_code = code.value;
      if (delay.value) rule.delay = delay.value;
      return { services: { [svc.value]: rule } };
    }, el("div", {}, svc, action, code, delay)));

  const sec = $("card-security");
  sec.replaceChildren(el("h3", {}, "Security system"),
    el("div", {}, `Reachable: ${st.security.reachable ? "yes" : "no"}; last replication ${fmtTime(st.security.last_replication)}; next ${fmtTime(st.security.next_replication)}`),
    sw("Cut it off", "PUT", "/security", { reachable: false }), sw("Restore it", "PUT", "/security", { reachable: true }),
    sw("Replicate now", "POST", "/security/replicate", undefined));

  const ck = $("card-clock");
  const by = el("input", { size: "6", value: "1h", "aria-label": "advance by" });
  ck.replaceChildren(el("h3", {}, "Clock"), el("div", {}, `${h.clock.mode} clock at ${fmtTime(h.clock.now)}`),
    h.clock.mode === "virtual" ? sw("Advance", "POST", "/clock/advance", () => ({ by: by.value }), by)
      : el("div", { class: "note" }, "The clock is real: start the simulator with --clock virtual to move it."));

  const fl = $("card-faults");
  const f = st.faults;
  const cert = el("select", { "aria-label": "server certificate" }, ["", "foreign-ca", "wrong-host"].map((v) =>
    el("option", { value: v, selected: (f.server_certificate || "") === v }, v || "genuine certificate")));
  const login = el("input", { size: "3", value: String(f.drop_at_login), "aria-label": "drop at login" });
  const stor = el("input", { size: "3", value: String(f.drop_at_stor), "aria-label": "drop at STOR" });
  fl.replaceChildren(el("h3", {}, "Faults"),
    el("div", {}, `Presenting: ${f.server_certificate || "the genuine certificate"}; drops armed at login ${f.drop_at_login}, at STOR ${f.drop_at_stor}`),
    sw("Arm", "PUT", "/faults", () => {
      const b = { drop_at_login: parseInt(login.value, 10) || 0, drop_at_stor: parseInt(stor.value, 10) || 0 };
      if (cert.value) b.server_certificate = cert.value;
      return b;
    }, el("div", {}, "certificate ", cert, " drop at login ", login, " at STOR ", stor)));

  if (st.finishable && !$("finish-box")) {
    $("card-backend").before(el("div", { class: "card wide", id: "finish-box" }, el("h3", {}, "Client observation"),
      el("p", {}, "ftpsgw certify-client --observe is watching the client. When the product has done its work, end the observation: the verdicts are written then."),
      el("div", { id: "observation" }),
      sw("Finish the observation", "POST", "/finish", undefined)));
  }
  if (st.observation && $("observation")) {
    const o = st.observation;
    const reqs = el("tbody", {}, o.requirements.map((r) => el("tr", { "data-observed": r.id },
      el("td", {}, reqLink(r.id)), el("td", {}, r.title),
      el("td", {}, el("span", { class: "chip " + (r.status === "PASS" ? "good" : r.status === "FAIL" ? "bad" : r.status === "WARN" ? "warn" : "") }, r.status)),
      el("td", { class: "note" }, r.reason || ""))));
    const cases = el("ol", {}, o.cases.map((c) => el("li", {}, c.description + ": " + c.state)));
    $("observation").replaceChildren(el("p", { class: "note" }, "Verdicts so far (" + fmtTime(o.updated) + "):"),
      el("table", {}, reqs), el("p", {}, "Cases the gateway plays, one at a time:"), cases);
  }
  const rg = $("card-registrations");
  const tb = el("tbody");
  for (const r of st.registrations) {
    const roles = el("input", { size: "40", value: (r.roles || []).join(", "), "aria-label": "roles of " + r.username });
    tb.append(el("tr", { "data-registration": r.username }, el("td", { class: "mono" }, r.username), el("td", {}, r.cvr || ""),
      el("td", {}, sw("Set roles", "PUT", "/security/roles/" + encodeURIComponent(r.username),
        () => ({ roles: roles.value.split(",").map((x) => x.trim()).filter(Boolean) }), roles)),
      el("td", {}, sw("Unregister", "DELETE", "/registrations/" + encodeURIComponent(r.username), undefined))));
  }
  rg.replaceChildren(el("h3", {}, "Registrations and roles"),
    el("p", { class: "note" }, "Role changes reach the gateway with the hourly replication (or Replicate now)."),
    el("table", {}, el("thead", {}, el("tr", {}, ["username", "CVR", "roles", ""].map((x) => el("th", {}, x)))), tb));
}

let stateBusy = false;
async function refreshState() {
  if (stateBusy) return;
  stateBusy = true;
  try { renderState(await getJSON("/ui/api/state")); } catch (e) { $("clock").textContent = String(e); } finally { stateBusy = false; }
}

// ---- live ---------------------------------------------------------------------------------
let uploadsTimer = null;
function uploadsSoon() { // at most one fetch per 300 ms however many files arrive
  if (uploadsTimer) return;
  uploadsTimer = setTimeout(() => { uploadsTimer = null; loadUploads().catch((e) => { $("uploads-count").textContent = String(e); }); }, 150);
}

function live(since, generation) {
  const es = new EventSource(`/ui/events?since=${since}&generation=${generation}`);
  es.addEventListener("open", () => { $("live").textContent = "live"; $("live").className = "chip good"; });
  es.addEventListener("update", (ev) => {
    const u = JSON.parse(ev.data);
    if (u.reset) { loadSessions().catch(() => {}); }
    for (const s of (u.sessions || []).slice().reverse()) place(s, true);
    showCounts();
    if (u.files) uploadsSoon();
    if (u.state || u.files) refreshState();
    document.body.setAttribute("data-last-seq", String(u.last_seq));
    document.body.setAttribute("data-updates", String(1 + Number(document.body.getAttribute("data-updates") || 0)));
  });
  es.addEventListener("error", () => { $("live").textContent = "reconnecting…"; $("live").className = "chip bad"; });
}

async function start() {
  $("token").value = token();
  await loadRequirements().catch((e) => $("requirement-list").append(el("p", {}, String(e))));
  await refreshState();
  const page = await loadSessions();
  await loadUploads().catch(() => {});
  live(page.last_seq, page.generation);
  if (location.hash.startsWith("#req-")) { const t = document.getElementById(location.hash.slice(1)); if (t) t.scrollIntoView(); }
  document.body.setAttribute("data-ready", "1");
}
start();
