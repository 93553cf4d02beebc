"""Console labels in Spanish and English; the language comes from the session or the browser."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("es", "en")

# key: (español, English)
LABELS: dict[str, tuple[str, str]] = {
    "app": ("Puente — consola", "Puente — console"),
    "skip": ("Saltar al contenido", "Skip to content"),
    "nav": ("Navegación principal", "Main navigation"),
    "home": ("Inicio", "Home"),
    "fleet": ("Flota", "Fleet"),
    "import": ("Importar CSV", "CSV import"),
    "signin": ("Iniciar sesión", "Sign in"),
    "signout": ("Cerrar sesión", "Sign out"),
    "signed_in_as": ("Sesión de", "Signed in as"),
    "user": ("Usuario", "User"),
    "password": ("Contraseña", "Password"),
    "bad_login": ("Usuario o contraseña incorrectos.", "Wrong user name or password."),
    "other_lang": ("English", "Español"),
    "forbidden": ("Acceso denegado", "Access denied"),
    "forbidden_text": (
        "Su rol ({role}) no permite ver esta página.",
        "Your role ({role}) may not see this page.",
    ),
    "bad_csrf": (
        "El formulario caducó o no vino de esta consola. Vuelva a intentarlo.",
        "The form expired or did not come from this console. Please try again.",
    ),
    "not_found": ("No encontrado", "Not found"),
    "home_text": ("Elija una sección.", "Choose a section."),
    "clinician_soon": (
        "La consola clínica llegará en una próxima versión.",
        "The clinician console arrives in a later version.",
    ),
    "units": ("Unidades médicas y estaciones", "Medical units and stations"),
    "unit": ("Unidad médica", "Medical unit"),
    "station": ("Estación", "Station"),
    "state": ("Estado", "State"),
    "online": ("En línea", "Online"),
    "offline": ("Fuera de línea", "Offline"),
    "retired": ("Dada de baja", "Retired"),
    "last_seen": ("Última actividad", "Last seen"),
    "clock_offset": ("Reloj de la estación", "Station clock"),
    "clock_ok": ("En hora ({amount})", "On time ({amount})"),
    "clock_ahead": ("Adelantado {amount}", "Ahead by {amount}"),
    "clock_behind": ("Atrasado {amount}", "Behind by {amount}"),
    "clock_bound": (
        "sin estimación de la estación; la diferencia medida incluye esperas en la red",
        "no estimate from the station yet; the measured gap includes network waits",
    ),
    "station_warnings": ("Avisos de la estación", "Station warnings"),
    "time_station_clock_off": (
        "Hora dudosa: reloj de la estación respecto al hub: {clock}",
        "Doubtful time: station clock against the hub: {clock}",
    ),
    "time_time_unverified": (
        "Hora no verificable: muy lejos de la hora del hub y la estación no confirmó su reloj",
        "Unverified time: far from the hub's time and the station did not confirm its clock",
    ),
    "outbox": ("Eventos en cola", "Outbox depth"),
    "events": ("Eventos", "Events"),
    "cert_expiry": ("Vence el certificado", "Certificate expires"),
    "config_version": ("Configuración aplicada", "Config applied"),
    "devices": ("Dispositivos", "Devices"),
    "no_stations": ("No hay estaciones registradas.", "No stations are registered."),
    "never": ("nunca", "never"),
    "none": ("—", "—"),
    "device": ("Dispositivo", "Device"),
    "type": ("Tipo", "Type"),
    "driver": ("Controlador", "Driver"),
    "model": ("Modelo", "Model"),
    "serial": ("Número de serie", "Serial number"),
    "port": ("Puerto", "Port"),
    "health": ("Salud", "Health"),
    "installed": ("Instalado", "Installed"),
    "removed": ("Retirado", "Removed"),
    "history": ("Historial de dispositivos", "Device history"),
    "no_devices": ("Sin dispositivos.", "No devices."),
    "unknown_health": ("sin reporte", "not reported"),
    "enroll": ("Inscribir un equipo", "Enroll a PC"),
    "enroll_text": (
        "Cree un código de un solo uso y escríbalo en el equipo con "
        "«puente agent enroll --hub URL --code CÓDIGO».",
        "Create a one-time code and type it on the PC with "
        "“puente agent enroll --hub URL --code CODE”.",
    ),
    "create_code": ("Crear código de inscripción", "Create enrollment code"),
    "code_title": ("Código de inscripción", "Enrollment code"),
    "code_once": (
        "Este código se muestra solo una vez. Cópielo ahora.",
        "This code is shown only once. Copy it now.",
    ),
    "expires": ("Vence", "Expires"),
    "back_station": ("Volver a la estación", "Back to the station"),
    "back_fleet": ("Volver a la flota", "Back to the fleet"),
    "retire": ("Dar de baja la estación", "Retire the station"),
    "retire_text": (
        "Dar de baja revoca su certificado: el equipo no podrá volver a conectarse ni publicar. "
        "No se puede deshacer.",
        "Retiring revokes its certificate: the PC can never connect or publish again. "
        "This cannot be undone.",
    ),
    "retire_confirm": (
        "Para confirmar, escriba el id de la estación ({station})",
        "To confirm, type the station id ({station})",
    ),
    "retire_mismatch": (
        "El id escrito no coincide; la estación sigue activa.",
        "The id typed does not match; the station is still active.",
    ),
    "retired_done": (
        "Estación dada de baja; {n} certificado(s) revocado(s).",
        "Station retired; {n} certificate(s) revoked.",
    ),
    "cancel": ("Cancelar", "Cancel"),
    "broker_problem": (
        "El broker no quedó al día ({at}): revise y vuelva a intentar (ver docs/production.md).",
        "The broker was not brought up to date ({at}): check and retry (see docs/production.md).",
    ),
    "broker_retry": ("Reintentar ahora", "Retry now"),
    "replace": ("Reemplazar dispositivo", "Replace device"),
    "replace_text": (
        "El dispositivo anterior queda en el historial: cada evento sigue asociado al equipo "
        "físico que lo produjo.",
        "The previous device stays in the history: each event stays tied to the physical "
        "device that produced it.",
    ),
    "replace_done": (
        "Dispositivo reemplazado (configuración v{v}).",
        "Device replaced (config v{v}).",
    ),
    "new_serial": ("Nuevo número de serie", "New serial number"),
    "new_model": ("Modelo (vacío: el mismo)", "Model (empty: the same)"),
    "import_title": ("Importar el registro (CSV)", "Import the registry (CSV)"),
    "import_text": (
        "Una fila por dispositivo. Las filas válidas se guardan; las erróneas se listan abajo.",
        "One row per device. Valid rows are stored; bad rows are listed below.",
    ),
    "csv_file": ("Archivo CSV", "CSV file"),
    "csv_text": ("O pegue el CSV aquí", "Or paste the CSV here"),
    "import_do": ("Importar", "Import"),
    "import_result": (
        "{rows} fila(s) leídas: {units} unidad(es), {stations} estación(es), "
        "{devices} dispositivo(s) guardados; {errors} fila(s) con errores.",
        "{rows} row(s) read: {units} unit(s), {stations} station(s), {devices} device(s) "
        "stored; {errors} row(s) with errors.",
    ),
    "row_errors": ("Filas con errores", "Rows with errors"),
    "line": ("Línea", "Line"),
    "code": ("Código", "Code"),
    "reason": ("Motivo", "Reason"),
    "empty_csv": ("Elija un archivo o pegue el CSV.", "Choose a file or paste the CSV."),
    "error": ("Error", "Error"),
    # pharmacy dispensing
    "dispensed": ("Medicamentos despachados", "Dispensed medicines"),
    "no_dispensed": ("No se ha despachado nada en este caso.", "Nothing dispensed on this case."),
    "pharmacist": ("Farmacéutico", "Pharmacist"),
    "lot": ("Lote", "Lot"),
    "expiry": ("Vence", "Expiry"),
    "quantity": ("Cantidad", "Quantity"),
    "product": ("Producto", "Product"),
    "differences": ("Diferencias con la receta", "Differences from the prescription"),
    "rx_confirmation": ("Confirmación del paciente", "Patient confirmation"),
    "users": ("Usuarios", "Users"),
    "users_text": (
        "Deshabilitar un usuario o cambiar su contraseña cierra al instante sus sesiones "
        "abiertas. También desde la línea de comandos: «puente hub user …».",
        "Disabling a user or resetting their password ends their open sessions at once. "
        "Also from the command line: “puente hub user …”.",
    ),
    "created": ("Creado", "Created"),
    "actions": ("Acciones", "Actions"),
    "user_enabled_state": ("habilitado", "enabled"),
    "user_disabled_since": ("deshabilitado desde {at}", "disabled since {at}"),
    "enable_user": ("Volver a habilitar", "Re-enable"),
    "disable_user": ("Deshabilitar", "Disable"),
    "reset_password": ("Cambiar contraseña", "Reset password"),
    "new_password": ("Nueva contraseña (10 caracteres o más)", "New password (10+ characters)"),
    "user_disabled": (
        "Usuario {name} deshabilitado; sus sesiones terminaron.",
        "User {name} disabled; their sessions ended.",
    ),
    "user_enabled": ("Usuario {name} habilitado de nuevo.", "User {name} enabled again."),
    "password_reset": (
        "Contraseña de {name} cambiada; sus sesiones anteriores terminaron.",
        "Password of {name} reset; their earlier sessions ended.",
    ),
    "cannot_disable_self": (
        "No puede deshabilitar su propio usuario.",
        "You cannot disable your own user.",
    ),
    "no_such_user": ("Ese usuario no existe.", "No such user."),
    "weak_password": (
        "La contraseña debe tener al menos 10 caracteres.",
        "The password needs at least 10 characters.",
    ),
    "no_users": ("No hay usuarios.", "No users."),
    "fleet_totals": (
        "Flota: {online} en línea, {offline} fuera de línea, {retired} dadas de baja; "
        "{problem} con un dispositivo con problema.",
        "Fleet: {online} online, {offline} offline, {retired} retired; "
        "{problem} with a device problem.",
    ),
    "fleet_search": ("Buscar estación o unidad", "Find station or unit"),
    "all": ("Todas", "All"),
    "device_problem": ("Dispositivo con problema", "Device problem"),
    "stations_found": ("{n} estación(es)", "{n} station(s)"),
    # Registered devices beside those the station's agent reports (hub.services.station_devices)
    "devices_count": (
        "{seen} en la estación ({connected} conectados), {registered} registrados",
        "{seen} at the station ({connected} connected), {registered} registered",
    ),
    "devices_unreported": (
        "{registered} registrados; la estación no ha informado sus dispositivos",
        "{registered} registered; the station has not reported its devices",
    ),
    "device_mismatches": ("{n} diferencia(s)", "{n} mismatch(es)"),
    "dev_not_reported": (
        "{device}: la estación aún no informó sus dispositivos",
        "{device}: the station has not reported its devices yet",
    ),
    "dev_registered_not_seen": (
        "{device}: registrado ({registered}) pero la estación no lo tiene",
        "{device}: registered ({registered}) but not seen at the station",
    ),
    "dev_seen_not_registered": (
        "{device}: la estación lo usa ({seen}) pero no está registrado",
        "{device}: seen at the station ({seen}) but not registered",
    ),
    "dev_wrong_driver": (
        "{device}: registrado con el controlador {registered}, la estación usa {seen}",
        "{device}: registered with driver {registered}, the station runs {seen}",
    ),
    "dev_not_connected": ("{device}: {state} desde {since}", "{device}: {state} since {since}"),
    "dev_ok": ("{device}: conectado desde {since}", "{device}: connected since {since}"),
    "dstate_connected": ("conectado", "connected"),
    "dstate_disconnected": ("desconectado", "disconnected"),
    "dstate_error": ("con error", "in error"),
    "dstate_busy": ("ocupado", "busy"),
    "dstate_unsupported": ("no compatible", "unsupported"),
    "dstate_device_state_unspecified": ("sin estado aún", "no state yet"),
    "dstate_unknown": ("estado desconocido", "unknown state"),
    "reported_h": (
        "Registrados y vistos en la estación",
        "Registered and seen at the station",
    ),
    "reported_at": ("Lista enviada por la estación: {at}", "List sent by the station: {at}"),
    "registered_driver": ("Controlador registrado", "Registered driver"),
    "seen_driver": ("Controlador en la estación", "Driver at the station"),
    "finding": ("Situación", "Finding"),
    "add_device": ("Registrar un dispositivo", "Register a device"),
    "add_device_text": (
        "Elija el controlador del catálogo; los ajustes se comprueban con su esquema y la "
        "configuración de la estación se vuelve a publicar.",
        "Choose the driver from the catalogue; its settings are checked against its schema "
        "and the station's config is published again.",
    ),
    "device_id": ("Id del dispositivo", "Device id"),
    "settings": ("Ajustes", "Settings"),
    "settings_hint": (
        "nombre=valor; nombre=valor (p. ej. port=/dev/ttyUSB0; baudrate=9600)",
        "name=value; name=value (e.g. port=/dev/ttyUSB0; baudrate=9600)",
    ),
    "register": ("Registrar", "Register"),
    "device_added": (
        "Dispositivo registrado; configuración v{v} publicada.",
        "Device registered; config v{v} published.",
    ),
    "catalogue": ("Catálogo de controladores", "Driver catalogue"),
    "field": ("Campo", "Field"),
    "allowed": ("Admitido", "Allowed"),
}


def pick(accept_language: str | None, chosen: str = "") -> str:
    """The session's choice, else the browser's first of es/en, else Spanish."""
    if chosen in LANGS:
        return chosen
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag
    return "es"


def translator(lang: str) -> Callable[..., str]:
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str, **values: object) -> str:
        text = LABELS[key][index]
        return text.format(**values) if values else text

    return t


def clock_words(t: Callable[..., str], offset_ms: int | None, known: bool = True) -> str:
    """A station clock against the hub's in words, "ahead by 2 h 5 min" (offset: hub - station)."""
    if offset_ms is None:
        return t("none")
    amount = _amount(abs(offset_ms))
    if abs(offset_ms) < 2000:
        text = t("clock_ok", amount=amount)
    else:
        text = t("clock_ahead" if offset_ms < 0 else "clock_behind", amount=amount)
    # Unknown: received - sent_at only bounds the offset from above (waits inflate it).
    return text if known or offset_ms <= 2000 else f"{text} — {t('clock_bound')}"


def _amount(ms: int) -> str:
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds} s" if seconds else f"{ms} ms"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def words(t: Callable[..., str]) -> Callable[[str, str], str]:
    """``w("kind_", "vital_signs")``: the label of a code if there is one, else the code in
    plain words (underscores as spaces): a developer word never reaches a page as is."""

    def w(prefix: str, code: object) -> str:
        key = f"{prefix}{code}"
        if key in LABELS:
            return t(key)
        return str(code).replace("_", " ").lower()

    return w
