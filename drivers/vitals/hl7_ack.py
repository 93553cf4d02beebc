"""HL7 v2 acknowledgements (original mode) with one ERR segment per problem, built with python-hl7.

An ACK answers the sender: MSH-5/MSH-6 are the incoming MSH-3/MSH-4
(python-hl7's ``Message.create_ack`` swaps them), MSA-2 the incoming control
id. Each :class:`Problem` becomes one ERR segment (HL7 v2.5+ layout):

- ERR-2 error location (ERL): segment id ^ segment sequence ^ field position,
  the sequence being the occurrence of that segment id in the message (1 for
  the first OBX, 2 for the second, ...);
- ERR-3 HL7 error code from table 0357 (``code^text^HL70357``);
- ERR-4 severity (E error, W warning);
- ERR-5 the application's own reason code (``reason^reason^PUENTE``);
- ERR-8 the text for a person, English / Spanish, in ASCII (accents folded: a sender
  that did not name a character set in MSH-18 reads ASCII).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7

# HL7 table 0357 (message error condition codes): the ones Puente answers with.
TABLE_0357 = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    207: "Application internal error",
}

# The minimal header used to answer bytes that are not an HL7 message at all.
_BARE_MSH = "MSH|^~\\&|||||||ACK^R01^ACK||P|2.6\r"


@dataclass(frozen=True)
class Problem:
    """One thing the receiver could not read, located in the message."""

    segment: str  # e.g. "OBX"
    sequence: int  # occurrence of ``segment`` in the message, 1-based (0: not located)
    field: int  # field position (0: the whole segment / message)
    code: int  # HL7 table 0357
    reason: str  # application reason code, e.g. "not_a_number"
    text: str  # English / Spanish
    severity: str = "E"


def _safe(text: str) -> str:
    """Text as a field value: ASCII (HL7's default character set, what every sender reads),
    no segment breaks or framing bytes; escaping of separators is python-hl7's."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.replace("\x0b", " ").replace("\x1c", " ").split())[:250]


def build_ack(
    message: hl7.Message | None,
    code: str,
    problems: list[Problem],
    *,
    control_id: str = "",
    application: str = "PUENTE",
    facility: str = "",
) -> str:
    """The ACK^R01 (as text, segments ended by CR) answering ``message`` with ``code``.

    ``message`` is None when the bytes could not be parsed as HL7: the ACK then
    has an empty MSH-5/6 and ``control_id`` (what could be salvaged) in MSA-2.
    """
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    source = message if message is not None else hl7.parse(_BARE_MSH)
    ack = source.create_ack(code, application=application, facility=facility)
    msh = ack.segment("MSH")
    msh.assign_field(now, 7)
    if message is None:
        ack.segment("MSA").assign_field(ack.escape(_safe(control_id)), 2)
    if message is not None and not str(source.segment("MSH")(9)):
        msh.assign_field("ACK", 9)
    for problem in problems:
        err = ack.create_segment([ack.create_field(["ERR"])])
        if problem.segment:
            err.assign_field(problem.segment, 2, 1, 1)
            err.assign_field(str(problem.sequence), 2, 1, 2)
            err.assign_field(str(problem.field), 2, 1, 3)
        err.assign_field(str(problem.code), 3, 1, 1)
        err.assign_field(TABLE_0357.get(problem.code, ""), 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field(problem.severity, 4)
        err.assign_field(problem.reason, 5, 1, 1)
        err.assign_field(problem.reason, 5, 1, 2)
        err.assign_field("PUENTE", 5, 1, 3)
        err.assign_field(ack.escape(_safe(problem.text)), 8)
        ack.append(err)
    return str(ack) + "\r"
