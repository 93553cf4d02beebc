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
  await fetch(`/v1/pairings/requests/${encodeURIComponent(requestId)}/${verb}`, {
    method: "POST", headers: json, body: "{}",
  });
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

async function refreshActivity() {
  const data = await (await fetch("/v1/activity")).json();
  document.getElementById("running").replaceChildren(...data.running.map((a) =>
    el("div", { class: "card", "data-activity": a.activity_id },
      el("p", {}, el("strong", {}, a.action), ` — ${a.origin}`),
      el("p", {}, `Caso / Case: ${a.case_id || "—"}`),
      el("button", { class: "no", onclick: () => refuseAction(a.activity_id) },
        "Rechazar / Refuse"),
    )));
  document.getElementById("recent").replaceChildren(...data.recent.map((a) => el("tr", {},
    el("td", {}, a.action), el("td", {}, a.origin), el("td", {}, a.case_id || "—"),
    el("td", {}, a.state, ...(a.note ? [el("br"), el("span", { class: "warn", "data-note": "" }, a.note)] : [])),
  )));
}

async function refresh() {
  await refreshActivity();
  const data = await (await fetch("/v1/pairings")).json();
  const pending = document.getElementById("pending");
  pending.replaceChildren();
  if (data.pending.length === 0) {
    pending.append(el("p", { class: "muted" }, "Sin solicitudes / No requests"));
  }
  for (const r of data.pending) {
    pending.append(el("div", { class: "card", "data-request": r.request_id },
      el("p", {}, "Sitio / Site: ", el("strong", {}, r.origin)),
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
    el("td", {}, p.origin), el("td", {}, p.created_at), el("td", {}, p.last_used_at || "—"),
    el("td", {}, el("button", { onclick: () => revoke(p.origin) }, "Revocar / Revoke")),
  )));
  const audit = await (await fetch("/v1/audit?limit=20")).json();
  document.getElementById("audit").replaceChildren(...audit.map((a) => el("tr", {},
    el("td", {}, a.at), el("td", {}, a.decision), el("td", {}, a.origin || "—"),
  )));
}

refresh();
setInterval(refresh, 1000);
