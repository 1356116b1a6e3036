// Loopstart web UI: the status page follows /api/status/stream (one
// server-sent event a second: status, device, provisioning and, on the
// sim board, the virtual phones) and drives the virtual phones through
// /api/sim; the logs page follows /api/logs/stream. Plain JS, no framework;
// every form also works without it.
"use strict";

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const csrf = csrfMeta ? csrfMeta.content : "";
const page = document.body.dataset.page;

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function showError(msg) {
  const p = document.getElementById("error");
  p.textContent = msg || "";
  p.hidden = !msg;
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

function callText(p) {
  const c = p.call;
  let t = "";
  if (c) t = c.codec + (c.encrypted ? " · SRTP " + c.srtp : " · clear RTP") + " · MOS " + Number(c.mos).toFixed(1) + " · ";
  return t + (p.call_s ? Math.round(p.call_s) + " s" : "");
}

function renderDevice(d, prov) {
  setText("dev-model", d.model);
  setText("dev-firmware", d.version + (d.slot ? " (slot " + d.slot + ")" : ""));
  setText("dev-mac", d.mac || "none");
  setText("dev-addrs", d.addrs.length ? d.addrs.join(", ") : "none");
  setText("dev-uptime", d.uptime);
  if (prov) {
    setText("prov", prov.state + (prov.servers.length ? " · last success " + (prov.last_success || "never") : "") +
      (prov.last_error ? " · last failure: " + prov.last_error : ""));
  }
}

function render(st) {
  setText("version", st.version);
  setText("board", st.board);
  setText("uptime", Math.round(st.uptime_s));
  for (const p of st.ports) {
    const row = document.querySelector('#ports tr[data-port="' + p.port + '"]');
    if (!row) continue;
    row.querySelector(".hook").textContent = p.hook;
    const state = row.querySelector(".state");
    state.textContent = p.state + (p.fault ? " (" + p.fault + ")" : "") + (p.mwi ? " · messages waiting" : "");
    state.className = "state state-" + p.state;
    row.querySelector(".peer").textContent = p.peer || "";
    row.querySelector(".call").textContent = callText(p);
  }
  const acc = document.getElementById("accounts");
  acc.replaceChildren();
  for (const a of st.accounts) {
    const row = document.createElement("tr");
    row.dataset.account = a.id;
    cell(row, a.id).dataset.label = "Account";
    cell(row, a.user).dataset.label = "User";
    cell(row, a.registrar).dataset.label = "Registrar";
    cell(row, a.state + (a.last_code ? " (" + a.last_code + ")" : ""), "state-" + a.state).dataset.label = "Registration";
    cell(row, a.last_error).dataset.label = "Last error";
    acc.appendChild(row);
  }
  const l = st.loop;
  const loop = document.getElementById("loop");
  if (loop) {
    loop.textContent = (l.running ? "running" : "stopped") +
      " · ticks " + l.ticks + " · late " + l.late + " · missed " + l.missed +
      " · worst lateness " + l.max_lateness_us + " µs";
    loop.className = l.running ? "" : "state-fault";
  }
}

function showPhones(ports) {
  for (const p of ports || []) {
    const span = document.querySelector('#ports tr[data-port="' + p.port + '"] .simstate');
    if (span) showPhone(span, p);
  }
}

async function refreshSim() {
  if (!document.body.dataset.sim) return;
  const r = await fetch("/api/sim/ports", {cache: "no-store"});
  if (!r.ok) return;
  showPhones(await r.json());
}

// showPhone writes a virtual phone's state as the status page renders it:
// hook, ringer, what it hears, its caller-ID display and its lamp.
function showPhone(span, p) {
  const parts = ["hook " + p.hook + (p.ringing ? " · ringing" : "") +
    " · hears " + (p.hearing.tones_hz || []).map(Math.round).join(",") + " Hz"];
  const c = p.caller_id;
  if (c) {
    const who = c.private ? "private" : c.unavailable ? "out of area" : c.number + (c.name ? " " + c.name : "");
    parts.push(" · ", labelled("callerid", "caller " + who + (c.time ? " " + c.time : "") +
      (c.standard ? " (" + c.standard + ")" : "")));
  }
  if (p.mwi) parts.push(" · ", labelled("mwi", "message waiting"));
  span.replaceChildren(...parts);
}

function labelled(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

async function refresh() {
  refreshSim().catch(() => {});
  try {
    const r = await fetch("/api/status", {cache: "no-store"});
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    render(body);
    showError("");
  } catch (e) {
    showError("status: " + e.message);
  }
}

async function post(port, what, body) {
  try {
    const r = await fetch("/api/sim/ports/" + port + "/" + what, {
      method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body),
    });
    if (!r.ok) {
      const b = await r.json().catch(() => ({}));
      throw new Error(b.error || r.statusText);
    }
    showError("");
    refresh();
  } catch (e) {
    showError(what + ": " + e.message);
  }
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-action]");
  if (!b || !b.closest("tr[data-port]")) return;
  const port = b.closest("tr[data-port]").dataset.port;
  if (b.dataset.action === "hook") post(port, "hook", {state: b.dataset.state});
  if (b.dataset.action === "dial") post(port, "dial", {digits: b.dataset.digit, mode: "dtmf"});
  if (b.dataset.action === "pstn") post(port, "pstn", {action: b.dataset.pstn});
});

// One stream for the whole status page; without EventSource, a poll
// every two seconds.
if (page === "/" && window.EventSource) {
  const es = new EventSource("/api/status/stream");
  es.addEventListener("status", (ev) => {
    const d = JSON.parse(ev.data);
    render(d.status);
    renderDevice(d.device, d.provisioning);
    showPhones(d.sim);
    showError("");
  });
  es.onerror = () => showError("status: connection lost, retrying");
} else if (page === "/") {
  setInterval(refresh, 2000);
}

// Forms that ask before they are sent (restart, factory reset).
document.addEventListener("submit", (ev) => {
  const msg = ev.target.dataset && ev.target.dataset.confirm;
  if (msg && !window.confirm(msg)) ev.preventDefault();
});

// After a restart, wait for the gateway and go back to it.
if (document.getElementById("restarting")) {
  let down = false, tries = 0;
  const t = setInterval(async () => {
    tries++;
    try {
      const r = await fetch("/healthz", {cache: "no-store"});
      if (r.ok && (down || tries > 8)) { clearInterval(t); location.href = "/"; }
    } catch (e) { down = true; }
  }, 1000);
}

const logs = document.getElementById("logs");
if (logs && window.EventSource) {
  logs.textContent = "";
  const es = new EventSource(logs.dataset.stream);
  es.onmessage = (ev) => {
    const r = JSON.parse(ev.data);
    logs.textContent += r.time + " " + r.level + " " + r.text + "\n";
  };
}

// Firmware page: upload the image, then follow /api/firmware until the
// gateway restarts into the new version (the session ends with the old
// process: the login page then shows the new version).
function fwShow(st) {
  const p = document.getElementById("fw-progress");
  const bar = document.getElementById("fw-bar");
  p.hidden = !st.progress;
  p.textContent = st.progress || "";
  bar.hidden = !st.total;
  if (st.total) { bar.max = st.total; bar.value = st.done || 0; }
  const e = document.getElementById("fw-error");
  e.hidden = !st.last_error;
  e.textContent = st.last_error ? "Last upgrade failed: " + st.last_error : "";
  document.getElementById("fw-version").textContent = st.version;
}

async function fwPoll(oldVersion) {
  for (;;) {
    await new Promise((res) => setTimeout(res, 300));
    try {
      const r = await fetch("/api/firmware", {cache: "no-store", headers: {"Accept": "application/json"}});
      if (r.status === 401 || r.status === 303) {
        document.getElementById("fw-progress").textContent = "restarted: log in again";
        location.href = "/login";
        return;
      }
      const st = await r.json();
      fwShow(st);
      if (st.version !== oldVersion) return;
      if (st.phase === "failed") return;
    } catch (e) {
      const p = document.getElementById("fw-progress");
      p.hidden = false;
      p.textContent = "restarting…";
    }
  }
}

const fwForm = document.getElementById("fw-form");
if (fwForm) {
  const confirmBox = document.getElementById("fw-confirm");
  let refused = null; // the file refused as older, until confirmed
  const upload = async (file, allowDowngrade) => {
    const oldVersion = document.getElementById("fw-version").textContent;
    const p = document.getElementById("fw-progress");
    confirmBox.hidden = true;
    refused = null;
    p.hidden = false;
    p.textContent = "uploading " + file.size + " bytes…";
    const poll = setInterval(async () => {
      try {
        const r = await fetch("/api/firmware", {cache: "no-store"});
        if (r.ok) fwShow(await r.json());
      } catch (e) { /* restarting */ }
    }, 300);
    try {
      const r = await fetch("/api/firmware" + (allowDowngrade ? "?allow_downgrade=1" : ""), {method: "POST", body: file,
        headers: {"Content-Type": "application/octet-stream", "X-CSRF-Token": csrf}});
      const body = await r.json().catch(() => ({}));
      clearInterval(poll);
      if (body.downgrade) {
        // Older than the running version: say so (once) and offer to confirm.
        refused = file;
        p.hidden = true;
        showError("");
        document.getElementById("fw-error").hidden = true;
        document.getElementById("fw-confirm-reason").textContent = body.error;
        confirmBox.hidden = false;
        return;
      }
      if (!r.ok) {
        showError(body.error || r.statusText);
        p.hidden = true;
        return;
      }
      showError("");
      fwShow(body);
      fwPoll(oldVersion);
    } catch (e) {
      clearInterval(poll);
      showError("upload: " + e.message);
      // The answer may be lost with a restart into the new version: keep
      // following the gateway.
      fwPoll(oldVersion);
    }
  };
  fwForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const file = document.getElementById("fw-file").files[0];
    if (file) upload(file, false);
  });
  document.getElementById("fw-downgrade").addEventListener("click", () => {
    if (refused) upload(refused, true);
  });
}

// First-run account step: suggest tls and SRTP for a TLS registrar, udp
// otherwise, until the person chooses for themselves.
const wizAccount = document.querySelector('#step-account form[data-element="account"]');
if (wizAccount) {
  const reg = wizAccount.querySelector('input[name="registrar"]');
  const tr = wizAccount.querySelector('select[name="transport"]');
  const srtp = wizAccount.querySelector('select[name="srtp"]');
  let touched = false;
  for (const s of [tr, srtp]) if (s) s.addEventListener("change", () => { touched = true; });
  if (reg && tr && srtp) reg.addEventListener("input", () => {
    if (touched) return;
    const tls = /^sips:|;transport=tls|:5061\b/i.test(reg.value);
    tr.value = tls ? "tls" : "udp";
    srtp.value = tls ? "mandatory" : "optional";
  });
}
