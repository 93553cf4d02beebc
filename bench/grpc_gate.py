"""bench/grpc_gate: what the gRPC door's gate costs, against the same servicer without it.

Run: ``.venv/bin/python -m bench.grpc_gate`` (``--calls N``). In one run, one agent
(outbox, devices, use cases) serves the Agent service twice: through its gated server
(app credential checked, actions board) and through a second, ungated server on the same
servicer (the baseline). Sequential ``GetStatus`` (a read) and ``RecordEvent`` (an action,
listed on the board, one fsync each) round trips; prints p50/p99 and gated/ungated ratios.
Also the time of one station operator PIN check (scrypt), the cost a person's approval adds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from edge_agent.capabilities.pairing.service import app_key
from edge_agent.capabilities.status import grpc as status_grpc
from edge_agent.grpc_auth import AppCredential, authenticated_channel
from edge_agent.grpc_server import GrpcServer
from edge_agent.operator_pin import OperatorPin
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import agent_pb2, agent_pb2_grpc, events_pb2


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def _request() -> agent_pb2.RecordEventRequest:
    event = events_pb2.Event(case_id="C-B", patient_id="P-B", device_id="monitor-1")
    event.vital_signs.mode = "spot"
    event.vital_signs.readings.add(mdc_code=150456, value=96.0, unit="%")
    return agent_pb2.RecordEventRequest(event=event)


def _time(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        agent = AgentService(
            AgentSettings(
                station_id="st-bench",
                unit_id="u",
                data_dir=Path(tmp) / "agent",
                broker_url="mqtt://127.0.0.1:1",  # no broker: the outbox only fills
                http_port=0,
                grpc_port=0,
            )
        )
        agent.start()
        assert agent.services is not None
        ungated = GrpcServer("127.0.0.1", 0)
        ungated.register(status_grpc.register, agent.services)
        ungated.start()
        try:
            credential = AppCredential("bench", agent.pairings.issue(app_key("bench")))
            rows = []
            with (
                authenticated_channel(agent.grpc_target, credential) as gated_ch,
                grpc.insecure_channel(f"127.0.0.1:{ungated.port}") as bare_ch,
            ):
                gated, bare = agent_pb2_grpc.AgentStub(gated_ch), agent_pb2_grpc.AgentStub(bare_ch)
                status = agent_pb2.GetStatusRequest()
                for stub in (gated, bare):  # warm both channels
                    _time(lambda s=stub: s.GetStatus(status), 20)
                for name, g, b in (
                    ("GetStatus", lambda: gated.GetStatus(status), lambda: bare.GetStatus(status)),
                    (
                        "RecordEvent",
                        lambda: gated.RecordEvent(_request()),
                        lambda: bare.RecordEvent(_request()),
                    ),
                ):
                    tb = _time(b, args.calls)
                    tg = _time(g, args.calls)
                    rows.append((name, tg, tb))
            print(f"gRPC gate, {args.calls} sequential calls each (ms):")
            for name, tg, tb in rows:
                print(
                    f"  {name:<12} gated p50 {statistics.median(tg):.3f} p99 {_pct(tg, 0.99):.3f}"
                    f" | ungated p50 {statistics.median(tb):.3f} p99 {_pct(tb, 0.99):.3f}"
                    f" | ratio p50 {statistics.median(tg) / statistics.median(tb):.2f}x"
                )
            pin = OperatorPin(Path(tmp) / "pin")
            pin.set("135790")
            checks = _time(lambda: pin.verify("135790"), 10)
            print(
                "  operator PIN check (scrypt N=2^14 r=8 p=1): "
                f"p50 {statistics.median(checks):.1f} ms"
            )
        finally:
            ungated.stop()
            agent.stop()


if __name__ == "__main__":
    main()
