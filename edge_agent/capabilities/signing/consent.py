"""The consent page the agent serves on its own origin: what is signed, for whom, the PIN box."""

from __future__ import annotations

from html import escape

from protos.document_types import DOCUMENT_TYPES, ROLES

_PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Firmar documento / Sign document — Puente</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:34rem;margin:1.5rem auto;
 padding:0 1rem;color:#111}}
h1{{font-size:1.3rem}}
dl{{display:grid;grid-template-columns:fit-content(14rem) minmax(0,1fr);gap:.3rem 1rem}}
dt{{font-weight:600}} dd{{margin:0;overflow-wrap:anywhere}}
.hash{{font-family:monospace;font-size:.8rem}}
.site{{background:#fff3cd;padding:.5rem;border-radius:.3rem}}
button{{font-size:1rem;padding:.5rem 1rem}}
#msg{{margin-top:1rem;font-weight:600}} .err{{color:#a00}} .ok{{color:#060}}
</style></head><body>
<h1 id="kind">{heading}</h1>
{simple_note}
<p class="site">{requester_label}: <strong id="origin">{origin}</strong></p>
<dl>
<dt>Documento / Document</dt><dd id="doctype">{doctype}</dd>
<dt>Paciente / Patient</dt><dd id="patient">{patient}</dd>
<dt>Caso / Case</dt><dd id="case">{case}</dd>
<dt>Firma como / Signing as</dt><dd id="role">{role}</dd>
<dt>{signer_label}</dt><dd id="signer">{signer}</dd>
<dt>SHA-256</dt><dd class="hash" id="sha256">{sha256}</dd>
</dl>
{revocation}
<form id="f" autocomplete="off">
{pin_box}
{operator_pin_box}
<p><button type="submit" id="sign">Firmar / Sign</button>
<button type="button" id="decline">Rechazar / Decline</button></p>
</form>
<p id="msg" role="status"></p>
<script>
const job = {job_json};
const msg = document.getElementById('msg');
async function post(path, body) {{
  const r = await fetch(path, {{method:'POST', headers:{{'Content-Type':'application/json'}},
                               body: JSON.stringify(body)}});
  return [r.ok, await r.json()];
}}
document.getElementById('f').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const pinEl = document.getElementById('pin');
  const body = {{}};
  if (pinEl) {{ body.pin = pinEl.value; pinEl.value = ''; }}
  const opEl = document.getElementById('operator_pin');
  if (opEl) {{ body.operator_pin = opEl.value; opEl.value = ''; }}
  const whoEl = document.getElementById('operator');
  if (whoEl && whoEl.value) {{ body.operator = whoEl.value; }}
  document.getElementById('sign').disabled = true;
  msg.className = ''; msg.textContent = 'Firmando… / Signing…';
  const [ok, res] = await post('/v1/signing/jobs/' + job + '/consent', body);
  document.getElementById('sign').disabled = false;
  if (ok) {{ msg.className = 'ok'; msg.textContent = 'Firmado / Signed (' + res.level + ')' +
                               (res.revocation_note ? ' — ' + res.revocation_note : '');
            setTimeout(() => window.close(), 1500); }}
  else {{ msg.className = 'err'; msg.textContent = res.detail; }}
}});
document.getElementById('decline').addEventListener('click', async () => {{
  await post('/v1/signing/jobs/' + job + '/decline', {{}});
  window.close();
}});
</script>
</body></html>
"""

_PIN_BOX = (
    '<p><label for="pin">PIN del token / Token PIN</label><br>'
    '<input id="pin" name="pin" type="password" inputmode="numeric" required '
    'autocomplete="off" autofocus></p>'
)
_NO_PIN = (
    "<p>Sesión del token abierta (la política de firma de este tipo de documento lo permite) / "
    "Token session open (this document type's signing policy allows it).</p>"
)
# Something only the person at the PC knows: a program that can POST cannot type it.
_OPERATOR_PIN_BOX = (
    '<p><label for="operator">Operador (su nombre de operador; puede omitirse si la estación '
    "tiene uno solo) / Operator (your operator name; may be left out if the station has one)"
    '</label><br><input id="operator" name="operator" autocomplete="username"></p>'
    '<p><label for="operator_pin">Su PIN de operador / Your operator PIN'
    '</label><br><input id="operator_pin" name="operator_pin" type="password" required '
    'autocomplete="off"></p>'
)
APP_PREFIX = "app:"  # a job's origin when an authenticated gRPC application asked


def requester(origin: str) -> tuple[str, str]:
    """How the page names who asked: an authenticated app, or the browser Origin the gate let in."""
    if origin.startswith(APP_PREFIX):
        return (
            "Aplicación local autenticada (credencial gRPC emparejada en esta estación) / "
            "Authenticated local application (gRPC credential paired at this station)",
            origin[len(APP_PREFIX) :],
        )
    return (
        # The browser sets Origin and a page cannot change it; a program outside a browser
        # could send any, so the page says where the name comes from.
        "Solicitado por el sitio (según el encabezado Origin del navegador) / "
        "Requested by site (as the browser's Origin header says)",
        origin or "(desconocido / unknown)",
    )


_ADVANCED_HEADING = "Firma electrónica avanzada / Advanced electronic signature"
_SIMPLE_HEADING = "FIRMA ELECTRÓNICA SIMPLE / SIMPLE electronic signature"
_SIMPLE_NOTE = (
    '<p class="site"><strong>No es una firma avanzada / This is NOT an advanced signature.'
    "</strong> La estación firma con su propia clave, a nombre del usuario que indica el sistema "
    "clínico / The station signs with its own key, for the user the clinical system names.</p>"
)


def render(
    *,
    job_id: str,
    origin: str,
    document_type: str,
    patient_id: str,
    case_id: str,
    role: str,
    signer: str,
    sha256: str,
    pin_needed: bool,
    kind: str = "advanced",
    user: str = "",
    revocation_note: str = "",
    operator_pin_needed: bool = False,
) -> str:
    dtype = DOCUMENT_TYPES.get(document_type)
    title = f"{document_type} — {dtype.title}" if dtype else document_type
    requester_label, requester_name = requester(origin)
    return _PAGE.format(
        requester_label=escape(requester_label),
        origin=escape(requester_name),
        operator_pin_box=_OPERATOR_PIN_BOX if operator_pin_needed else "",
        doctype=escape(title),
        patient=escape(patient_id),
        case=escape(case_id),
        role=escape(ROLES.get(role, role)),
        heading=_SIMPLE_HEADING if kind == "simple" else _ADVANCED_HEADING,
        simple_note=_SIMPLE_NOTE if kind == "simple" else "",
        signer_label="Usuario (según el sistema clínico) / User (as the clinical system says)"
        if kind == "simple"
        else "Certificado / Certificate",
        signer=escape(user if kind == "simple" else signer),
        sha256=escape(sha256),
        pin_box=_PIN_BOX if pin_needed else (_NO_PIN if kind != "simple" else ""),
        job_json='"' + escape(job_id) + '"',
        revocation=f'<p class="site" id="revocation">{escape(revocation_note)}</p>'
        if revocation_note
        else "",
    )
