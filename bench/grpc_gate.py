"""bench/grpc_gate: what the gRPC door's gate costs, against the same servicer without it.

Run: ``.venv/bin/python -m bench.grpc_gate`` (``--calls N``). In one run, one agent
(outbox, devices, use cases) serves the Agent service three times: through its gated server
(app credential checked, actions board), through a second, ungated server of the same kind
on the same servicer (the baseline), and through grpcio's server on the same servicer
(what the door was served with before it moved to grpclib; grpcio is a test dependency).
Sequential ``GetStatus`` (a read) and ``RecordEvent`` (an action, listed on the board, one
fsync each) round trips, the three sides interleaved in rounds of 50 calls; prints p50/p99,
gated/ungated ratios and the ungated door vs grpcio's server. Also the time of one station
operator PIN check (scrypt), the cost a person's approval adds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from google.protobuf.message_factory import GetMessageClass

from edge_agent.capabilities.pairing.service import app_key
from edge_agent.capabilities.status import grpc as status_grpc
from edge_agent.grpc_auth import AppCredential, authenticated_channel
from edge_agent.grpc_server import MAX_WORKERS, GrpcServer
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


def _grpcio_server(servicer: object) -> tuple[grpc.Server, int]:
    """grpcio's server on the same servicer, built from the same descriptor (ungated)."""
    handlers = {
        m.name: grpc.unary_unary_rpc_method_handler(
            getattr(servicer, m.name),
            request_deserializer=GetMessageClass(m.input_type).FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )
        for m in status_grpc.SERVICE.methods
    }
    server = grpc.server(ThreadPoolExecutor(MAX_WORKERS))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(status_grpc.SERVICE_NAME, handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def _interleaved(calls: list[Callable[[], object]], n: int, batch: int = 50) -> list[list[float]]:
    out: list[list[float]] = [[] for _ in calls]
    done = 0
    while done < n:
        k = min(batch, n - done)
        for times, call in zip(out, calls, strict=True):
            times.extend(_time(call, k))
        done += k
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
        old_server, old_port = _grpcio_server(
            status_grpc.AgentServicer(agent.services.record, agent.services.status)
        )
        try:
            credential = AppCredential("bench", agent.pairings.issue(app_key("bench")))
            rows = []
            with (
                authenticated_channel(agent.grpc_target, credential) as gated_ch,
                grpc.insecure_channel(f"127.0.0.1:{ungated.port}") as bare_ch,
                grpc.insecure_channel(f"127.0.0.1:{old_port}") as old_ch,
            ):
                gated, bare = agent_pb2_grpc.AgentStub(gated_ch), agent_pb2_grpc.AgentStub(bare_ch)
                old = agent_pb2_grpc.AgentStub(old_ch)
                status = agent_pb2.GetStatusRequest()
                for stub in (gated, bare, old):  # warm the channels
                    _time(lambda s=stub: s.GetStatus(status), 20)
                for name, calls in (
                    (
                        "GetStatus",
                        [lambda s=stub: s.GetStatus(status) for stub in (gated, bare, old)],
                    ),
                    (
                        "RecordEvent",
                        [lambda s=stub: s.RecordEvent(_request()) for stub in (gated, bare, old)],
                    ),
                ):
                    rows.append((name, *_interleaved(calls, args.calls)))
            print(f"gRPC gate, {args.calls} sequential calls each, sides interleaved (ms):")
            for name, tg, tb, to in rows:
                print(
                    f"  {name:<12} gated p50 {statistics.median(tg):.3f} p99 {_pct(tg, 0.99):.3f}"
                    f" | ungated p50 {statistics.median(tb):.3f} p99 {_pct(tb, 0.99):.3f}"
                    f" | ratio p50 {statistics.median(tg) / statistics.median(tb):.2f}x"
                )
                print(
                    f"  {'':<12} ungated on grpcio's server p50 {statistics.median(to):.3f}"
                    f" p99 {_pct(to, 0.99):.3f} | the door (grpclib) vs grpcio's server:"
                    f" p50 {statistics.median(tb) / statistics.median(to):.2f}x,"
                    f" gated {statistics.median(tg) / statistics.median(to):.2f}x"
                )
            pin = OperatorPin(Path(tmp) / "pin")
            pin.set("135790")
            checks = _time(lambda: pin.verify("135790"), 10)
            print(
                "  operator PIN check (scrypt N=2^14 r=8 p=1): "
                f"p50 {statistics.median(checks):.1f} ms"
            )
        finally:
            old_server.stop(0)
            ungated.stop()
            agent.stop()


if __name__ == "__main__":
    main()
