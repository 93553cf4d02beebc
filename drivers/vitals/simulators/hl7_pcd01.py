"""The sending side of IHE PCD-01: ORU^R01 messages a device would send, and an MLLP sender.

These are the simulator's own messages. The public samples the tests parse (IHE PCD TF-2
example, a Mindray VS-900 message) are kept byte for byte in tests/vitals/fixtures/.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import hl7
import hl7.mllp

# These are the simulator's own messages. The public samples the tests parse (IHE PCD TF-2
# example, a Mindray VS-900 message) are kept byte for byte in tests/vitals/fixtures/.

SAMPLE_SPO2_ORU = (
    "MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64||||20090713090030+0000||ORU^R01^ORU_R01|"
    "MSGID1234|P|2.6|||NE|AL||||||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7\r"
    "PID|||010-11-1111^^^Hospital^PI||Doe^John^Joseph^^^^L^A|||M\r"
    "PV1||I|ICU^2^23\r"
    "OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|"
    "182777000^monitoring of patient^SNOMED-CT|||20090813095715+0000\r"
    "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||"
    "0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
    "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.150456|98|262688^MDC_DIM_PERCENT^MDC|"
    "94-100|N|||R|||20090813095715+0000||||0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
    "OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.149530|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|"
    "60-100|N|||R|||20090813095715+0000||||0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
)

SAMPLE_BP_ORU = (
    "MSH|^~\\&|ACME Gateway^0123456789ABCDEF^EUI-64||||20070509082700-0500||ORU^R01^ORU_R01|"
    "ACME1234|P|2.6|||NE|AL||||||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7\r"
    "PID|||AB60001^^^A^PI||Brooks^Albert^^^^^L||19610101|M\r"
    "PV1||I|3 North^302^1\r"
    "OBR|1|ACME1234^ACME^0123456789ABCDEF^EUI-64||528391^MDC_DEV_SPEC_PROFILE_BPM^MDC|||"
    "20070509082700-0500\r"
    "OBX|1||528391^MDC_DEV_SPEC_PROFILE_BPM^MDC|1|||||||X|||||||"
    "1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|2||150020^MDC_PRESS_BLD_NONINV^MDC|1.1.1|||||||X|||20070509082700-0500\r"
    "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.2|80|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.1.1.3|93|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|6|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.1.2.1|66|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
)


def make_oru(
    rows: list[tuple[int, str, float, str]],
    control_id: str,
    at: datetime | None = None,
    eui64: str = "0123456789ABCDEF",
) -> str:
    """An ORU^R01 carrying ``rows`` of (MDC code, refid, value, MDC unit refid or UCUM)."""
    ts = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S.%f")[:-3] + "+0000"
    segs = [
        f"MSH|^~\\&|PuenteSim^{eui64}^EUI-64||||{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL",
        f"OBR|1|{control_id}^PuenteSim^{eui64}^EUI-64||182777000^monitoring of patient^SNOMED-CT"
        f"|||{ts}",
        f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{eui64}^^"
        f"{eui64}^EUI-64",
    ]
    for i, (code, refid, value, unit) in enumerate(rows, start=2):
        u = f"^{unit}^MDC" if unit.startswith("MDC_") else f"{unit}^{unit}^UCUM"
        segs.append(
            f"OBX|{i}|NM|{code}^{refid}^MDC|1.1.1.{code}|{value:g}|{u}|||||R|||{ts}||||"
            f"{eui64}^^{eui64}^EUI-64"
        )
    return "\r".join(segs) + "\r"


async def _send(host: str, port: int, messages: list[str], timeout_s: float) -> list[str]:
    reader, writer = await hl7.mllp.open_hl7_connection(host, port, encoding="utf-8")
    answers = []
    try:
        for message in messages:
            writer.writemessage(hl7.parse(message))
            await writer.drain()
            answers.append(str(await asyncio.wait_for(reader.readmessage(), timeout_s)))
    finally:
        writer.close()
    return answers


def send_mllp(host: str, port: int, messages: list[str], timeout_s: float = 10.0) -> list[str]:
    """Send ORU messages over one MLLP connection; return the ACKs (as text)."""
    return asyncio.run(_send(host, port, messages, timeout_s))
