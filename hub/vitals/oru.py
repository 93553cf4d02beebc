"""HL7 v2 ORU^R01 export in the IHE PCD-01 shape: one message per observation set.

MDC codes in OBX-3, canonical UCUM units in OBX-6 (coding system UCUM),
containment in OBX-4, measurement time in OBX-14, equipment in OBX-18; the
patient (PID-3), the case (PV1-19, visit number) and the set's event id
(MSH-10 and OBR-3) make every message traceable back to the hub's event.
Several messages go out as an HL7 batch (BHS ... BTS).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.storage.readings import StoredReading, VitalSet

PROFILE = "IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7"


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


def oru(vset: VitalSet, readings: list[StoredReading], sender: str = "PUENTE_HUB") -> str:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    eui = vset.monitor.get("eui64", "")
    equipment = f"{escape(eui)}^^{escape(eui)}^EUI-64" if eui else ""
    at = dtm(vset.occurred_at)
    segs = [
        f"MSH|^~\\&|{sender}||||{now}||ORU^R01^ORU_R01|{escape(vset.event_id)}|P|2.6|||NE|AL"
        f"||||||{PROFILE}",
        f"PID|||{escape(vset.patient_id)}^^^PUENTE^PI",
        f"PV1||O|{escape(vset.unit_id)}||||||||||||||||{escape(vset.case_id)}^^^PUENTE^VN",
        f"OBR|1|{escape(vset.event_id)}^PUENTE||182777000^monitoring of patient^SNOMED-CT|||{at}",
    ]
    segs.append(
        f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||{at}||||{equipment}"
    )
    for i, r in enumerate(readings, start=2):
        flags = "~".join(escape(f) for f in r.flags)
        containment = r.containment or f"1.1.1.{r.mdc_code}"
        segs.append(
            f"OBX|{i}|NM|{r.mdc_code}^{escape(r.mdc_refid)}^MDC|{escape(containment)}|"
            f"{_num(r.value)}|{escape(r.unit)}^{escape(r.unit)}^UCUM||{flags}|||R|||"
            f"{dtm(r.measured_at)}||||{equipment}"
        )
    return "\r".join(segs) + "\r"


def batch(messages: list[str], sender: str = "PUENTE_HUB") -> str:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    return f"BHS|^~\\&|{sender}||||{now}\r" + "".join(messages) + f"BTS|{len(messages)}\r"
