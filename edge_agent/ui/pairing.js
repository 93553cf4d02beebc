// The agent's own pairing page: lists requests with their codes, approves, refuses, revokes.
// Served from the agent's origin, so its POSTs carry that Origin and are admitted.

const json = { "Content-Type": "application/json" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function decide(requestId, verb) {
  // Approving needs the station operator PIN: something only the person here knows.
  const pinEl = document.getElementById("operator_pin");
  const who = document.getElementById("operator").value;
  const body = verb === "approve" ? { operator_pin: pinEl.value } : {};
  if (verb === "approve" && who) body.operator = who;
  pinEl.value = "";
  const r = await fetch(`/v1/pairings/requests/${encodeURIComponent(requestId)}/${verb}`, {
    method: "POST", headers: json, body: JSON.stringify(body),
  });
  const msg = document.getElementById("msg");
  msg.textContent = r.ok ? "" : (await r.json()).detail;
  await refresh();
}

async function revoke(origin) {
  await fetch("/v1/pairings/revoke", {
    method: "POST", headers: json, body: JSON.stringify({ origin }),
  });
  await refresh();
}

async function refuseAction(activityId) {
  await fetch(`/v1/activity/${encodeURIComponent(activityId)}/refuse`, {
    method: "POST", headers: json, body: "{}",
  });
  await refresh();
}

// Who asked: a web origin, or a local application authenticated by its gRPC credential.
function who(origin) {
  return origin.startsWith("app:")
    ? `Aplicación autenticada / Authenticated app: ${origin.slice(4)}`
    : origin;
}

async function refreshActivity() {
  const data = await (await fetch("/v1/activity")).json();
  document.getElementById("running").replaceChildren(...data.running.map((a) =>
    el("div", { class: "card", "data-activity": a.activity_id },
      el("p", {}, el("strong", {}, a.action), ` — ${who(a.origin)}`),
      el("p", {}, `Caso / Case: ${a.case_id || "—"}`),
      el("button", { class: "no", onclick: () => refuseAction(a.activity_id) },
        "Rechazar / Refuse"),
    )));
  document.getElementById("recent").replaceChildren(...data.recent.map((a) => el("tr", {},
    el("td", {}, a.action), el("td", {}, who(a.origin)), el("td", {}, a.case_id || "—"),
    el("td", {}, a.state, ...(a.note ? [el("br"), el("span", { class: "warn", "data-note": "" }, a.note)] : [])),
  )));
}

// Unassigned readings: redrawn only when the entries change, so typing is never wiped.
let inboxShown = "";

function readingText(r) {
  const value = r.value === null ? `"${r.raw_value}"` : r.value;
  const flags = r.flags.length ? ` [${r.flags.join(", ")}]` : "";
  return `${r.mdc_refid || r.mdc_code}: ${value} ${r.unit}${flags}`;
}

async function decideInbox(entryId, verb, form) {
  const data = Object.fromEntries(new FormData(form));
  const body = verb === "assign"
    ? { case_id: data.case_id, patient_id: data.patient_id, assigned_by: data.who }
    : { discarded_by: data.who, note: data.note || "" };
  const r = await fetch(`/v1/vitals/inbox/${entryId}/${verb}`, {
    method: "POST", headers: json, body: JSON.stringify(body),
  });
  const out = form.querySelector(".result");
  if (r.ok) {
    inboxShown = "";
  } else {
    const problem = await r.json().catch(() => ({}));
    out.textContent = problem.detail || `Error ${r.status}`;
  }
  await refreshInbox();
}

async function refreshInbox() {
  const data = await (await fetch("/v1/vitals/inbox")).json();
  const key = JSON.stringify(data.entries.map((e) => [e.entry_id, e.readings.length]));
  const dropped = Object.entries(data.dropped);
  document.getElementById("inbox-dropped").textContent = dropped.length
    ? "Descartadas por bandeja llena / Dropped, inbox full: "
      + dropped.map(([d, n]) => `${d}: ${n}`).join(", ")
    : "";
  if (key === inboxShown) return;
  inboxShown = key;
  const box = document.getElementById("inbox");
  if (data.entries.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, "Sin lecturas sin asignar / None"));
    return;
  }
  box.replaceChildren(...data.entries.map((e) => {
    const form = el("form", { class: "card", "data-entry": e.entry_id },
      el("p", {}, el("strong", {}, e.device_id), ` — ${e.received_at}`),
      el("p", {}, e.reason),
      el("p", {}, e.readings.map(readingText).join(" · ")),
      e.patient_ids.length || e.patient_name
        ? el("p", { class: "muted" },
          `Paciente según el monitor / Patient per the monitor: ${e.patient_ids.join(", ")} `
          + `${e.patient_name || ""}`)
        : "",
      el("label", {}, "Caso / Case ", el("input", { name: "case_id", size: "16" })),
      el("label", {}, " Afiliado / Patient ", el("input", { name: "patient_id", size: "16" })),
      el("label", {}, " Quién decide / Who decides ",
        el("input", { name: "who", size: "16", required: "" })),
      el("p", {},
        el("button", { type: "button", class: "ok",
          onclick: (ev) => decideInbox(e.entry_id, "assign", ev.target.form) },
        "Asignar / Assign"),
        el("button", { type: "button", class: "no",
          onclick: (ev) => decideInbox(e.entry_id, "discard", ev.target.form) },
        "Descartar / Discard")),
      el("p", { class: "result muted", role: "status" }),
    );
    return form;
  }));
}

// Devices and the hub link in words (the same facts as GET /v1/status, never raw JSON).
const DEVICE_WORDS = {
  connected: "Conectado / Connected", disconnected: "Desconectado / Disconnected",
  error: "Con falla / Failing", busy: "Ocupado / Busy", unsupported: "No compatible / Unsupported",
};

function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString("es-GT", { dateStyle: "short", timeStyle: "short", hourCycle: "h23" });
}

async function refreshStatus() {
  const s = await (await fetch("/v1/status")).json();
  const rows = s.devices.map((d) => {
    const state = String(d.state || "").toLowerCase();
    const words = DEVICE_WORDS[state] || state || "—";
    const why = state === "error" || state === "unsupported" ? [d.detail, d.error_code].filter(Boolean).join(" — ") : "";
    return el("tr", { "data-device": d.device_id, "data-state": state },
      el("td", {}, d.device_id), el("td", {}, [d.model, d.serial].filter(Boolean).join(" · ") || d.driver),
      el("td", { class: `state ${state}` }, words + (why ? `: ${why}` : "")));
  });
  const body = document.getElementById("devices");
  if (rows.length === 0) body.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "muted" }, "Sin equipos configurados / No devices configured")));
  else body.replaceChildren(...rows);
  const link = document.getElementById("link");
  link.dataset.connected = String(s.link.connected);
  link.textContent = (s.link.connected ? "Conectada al hub / Connected to the hub" : "Sin conexión con el hub: los datos esperan en la estación / Not connected to the hub: data waits at the station")
    + ` · ${s.outbox.depth} evento(s) por enviar / event(s) waiting`
    + (s.link.last_receipt_at ? ` · último acuse / last receipt ${localTime(s.link.last_receipt_at)}` : "");
}

// Telemedicine streams running at this station: a nurse sees them and can stop them.
async function stopStream(sessionId) {
  const r = await fetch(`/v1/vitals/sessions/${sessionId}/stop`, { method: "POST", headers: json, body: "{}" });
  document.getElementById("msg").textContent = r.ok ? "" : ((await r.json()).detail || `Error ${r.status}`);
  await refreshStreams();
}

async function refreshStreams() {
  const sessions = (await (await fetch("/v1/vitals/sessions")).json()).filter((x) => x.active);
  const box = document.getElementById("streams");
  if (sessions.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, "Ninguna transmisión en curso / No stream running"));
    return;
  }
  box.replaceChildren(...sessions.map((x) => el("div", { class: "card", "data-session": x.session_id },
    el("p", {}, `Caso / Case: ${x.case_id} · equipo / device ${x.device_id}`),
    el("p", { class: "muted" }, `Desde / Since ${localTime(x.started_at)} · ${x.readings} lectura(s) / reading(s)`),
    el("button", { class: "no", onclick: () => stopStream(x.session_id) }, "Detener / Stop"),
  )));
}

async function refresh() {
  await refreshActivity();
  await refreshStreams().catch(() => {});
  await refreshInbox().catch(() => {});
  await refreshStatus().catch(() => {});
  const data = await (await fetch("/v1/pairings")).json();
  const pending = document.getElementById("pending");
  pending.replaceChildren();
  if (data.pending.length === 0) {
    pending.append(el("p", { class: "muted" }, "Sin solicitudes / No requests"));
  }
  for (const r of data.pending) {
    pending.append(el("div", { class: "card", "data-request": r.request_id },
      r.origin.startsWith("app:")
        ? el("p", {}, "Aplicación local (nombre que ella declara) / Local application (name it "
          + "declares): ", el("strong", {}, r.origin.slice(4)))
        : el("p", {}, "Sitio / Site: ", el("strong", {}, r.origin)),
      el("p", { class: "code", "data-code": r.code }, r.code),
      el("p", { class: "muted" }, `Vence en / Expires in ${r.expires_in_s} s`),
      el("button", { class: "ok", onclick: () => decide(r.request_id, "approve") },
        "Aprobar / Approve"),
      el("button", { class: "no", onclick: () => decide(r.request_id, "refuse") },
        "Rechazar / Refuse"),
    ));
  }
  const paired = document.getElementById("paired");
  paired.replaceChildren(...data.pairings.map((p) => el("tr", {},
    el("td", {}, p.origin), el("td", {}, localTime(p.created_at)), el("td", {}, localTime(p.last_used_at)),
    el("td", {}, el("button", { onclick: () => revoke(p.origin) }, "Revocar / Revoke")),
  )));
  const audit = await (await fetch("/v1/audit?limit=20")).json();
  document.getElementById("audit").replaceChildren(...audit.map((a) => el("tr", {},
    el("td", {}, localTime(a.at)), el("td", {}, a.decision), el("td", {}, a.origin || "—"),
  )));
}

refresh();
setInterval(refresh, 1000);
