"""HL7 v2 ORU^R01 export conforming to IHE PCD-01 (DEC): one message per observation set.

MSH-21 names the profile with its registered OID
(``IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO``). MDC codes go in
OBX-3, canonical UCUM units in OBX-6 (coding system UCUM), the containment
``<MDS>.<VMD>.<CHAN>.<METRIC>`` in OBX-4, the measurement time in OBX-14, the
equipment (EUI-64) in OBX-18. Each measuring equipment of the set gets its own
MDS OBX (``n.0.0.0``) and its readings' OBX-4 start with that ``n``: the
ordinals are unique within the message, as PCD-01 asks, and an ECG's heart
rate and a pulse oximeter's stay apart.

OBX-8 (abnormal flags) carries only codes of HL7 table 0078 (v2.6) that the
device sent (e.g. ``H``, ``LL``). A device's measurement status that is not an
abnormality — ``unsettled`` (the take-vitals set ended before the value
settled), ``questionable``, ``alarm`` or any other word — goes in an NTE
segment right after its OBX (NTE-3 ``<status>: <meaning>``, NTE-4
``RE^Remark^HL70364``). OBX-17 (observation method) says how the value was
obtained: ``AMEAS^auto-measurement^MDC`` for every reading a device measured.

The patient (PID-3), the case (PV1-19, visit number) and the set's event id
(MSH-10 and OBR-3) make every message traceable back to the hub's event.
Several messages go out as an HL7 batch (BHS ... BTS).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hub.storage.readings import StoredReading, VitalSet

PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
_EUI64 = re.compile(r"[0-9A-Fa-f]{16}")
METHOD = "AMEAS^auto-measurement^MDC"
# HL7 v2.6 table 0078, Interpretation Codes (the codes OBX-8 may hold).
TABLE_0078 = frozenset(
    {"L", "H", "LL", "HH", "<", ">", "N", "A", "AA", "U", "D", "B", "W", "S", "R", "I", "MS", "VS"}
)
# Measurement status words the agent and drivers use, with their meaning (NTE-3).
STATUS_TEXT = {
    "unsettled": "value had not settled when the set was taken",
    "questionable": "the device marked the value questionable",
    "alarm": "the device was alarming on this value",
}


def escape(text: str) -> str:
    """HL7 v2 escaping of the delimiters in a value."""
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def dtm(iso: str) -> str:
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return at.strftime("%Y%m%d%H%M%S.") + f"{at.microsecond // 1000:03d}+0000"


def _num(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def split_flags(flags: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(table 0078 codes for OBX-8, other measurement-status words for NTE), in order."""
    abnormal = [f for f in flags if f in TABLE_0078 and f != "N"]
    status = [f for f in flags if f not in TABLE_0078]
    return abnormal, status


def _equipment(equipment: str) -> str:
    """OBX-18 (EI): an EUI-64 as PCD-01 writes it, else the serial in our namespace."""
    if not equipment:
        return ""
    if _EUI64.fullmatch(equipment):
        return f"{equipment}^^{equipment}^EUI-64"
    return f"{escape(equipment)}^PUENTE"


def _containment(mds: int, containment: str, mdc_code: int) -> str:
    """OBX-4 under MDS ``mds``: the device's VMD.CHAN.METRIC kept, else 1.1.<mdc code>."""
    parts = containment.split(".") if containment else []
    rest = parts[1:] if len(parts) >= 4 else ["1", "1", str(mdc_code)]
    return ".".join([str(mds), *rest])


def oru(vset: VitalSet, readings: list[StoredReading], sender: str = "PUENTE_HUB") -> str:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    at = dtm(vset.occurred_at)
    own = vset.monitor.get("eui64", "")
    segs = [
        f"MSH|^~\\&|{sender}||||{now}||ORU^R01^ORU_R01|{escape(vset.event_id)}|P|2.6|||NE|AL"
        f"|||||{PROFILE}",
        f"PID|||{escape(vset.patient_id)}^^^PUENTE^PI",
        f"PV1||O|{escape(vset.unit_id)}||||||||||||||||{escape(vset.case_id)}^^^PUENTE^VN",
        f"OBR|1|{escape(vset.event_id)}^PUENTE||182777000^monitoring of patient^SNOMED-CT|||{at}",
    ]
    by_equipment: dict[str, list[StoredReading]] = {}
    for r in readings:
        eq = r.equipment if r.equipment and r.equipment.upper() != own.upper() else own
        by_equipment.setdefault(eq, []).append(r)
    n = 0
    for mds, (eq, rows) in enumerate(by_equipment.items(), start=1):
        n += 1
        segs.append(
            f"OBX|{n}||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|{mds}.0.0.0|||||||X|||{at}"
            f"||||{_equipment(eq)}"
        )
        for r in rows:
            n += 1
            abnormal, status = split_flags(r.flags)
            segs.append(
                f"OBX|{n}|NM|{r.mdc_code}^{escape(r.mdc_refid)}^MDC|"
                f"{escape(_containment(mds, r.containment, r.mdc_code))}|{_num(r.value)}|"
                f"{escape(r.unit)}^{escape(r.unit)}^UCUM||{'~'.join(abnormal)}|||R|||"
                f"{dtm(r.measured_at)}|||{METHOD}|{_equipment(eq)}"
            )
            for i, word in enumerate(status, start=1):
                meaning = STATUS_TEXT.get(word, "measurement status reported by the device")
                segs.append(f"NTE|{i}|L|{escape(word)}: {meaning}|RE^Remark^HL70364")
    return "\r".join(segs) + "\r"


def batch(messages: list[str], sender: str = "PUENTE_HUB") -> str:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    return f"BHS|^~\\&|{sender}||||{now}\r" + "".join(messages) + f"BTS|{len(messages)}\r"
