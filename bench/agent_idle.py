"""The idle ``puente agent``: RSS, CPU and time to a local API that answers, against floors.

Used by ``bench.agent_footprint`` and ``bench.ingest``. Every figure is printed beside
a floor measured in the same run, with the agent's absolute targets:

- the *bare-imports floor*: a process that imports the libraries the agent needs
  at idle (sqlite3, protobuf, paho-mqtt, pydantic, FastAPI, uvicorn, grpclib with health
  and reflection) and nothing of the agent (typer, prometheus_client and
  pydantic-settings left the floor when the agent stopped importing them at idle: the
  service process is argparse, /metrics imports prometheus_client when first scraped,
  the settings read their sources themselves);
- the *bare servers*: the same imports plus a FastAPI app with one route on
  uvicorn and an empty grpclib server with health and reflection on its own loop
  thread — what any process that serves the agent's two APIs with these libraries costs;
- for comparison, the same two floors with grpcio (+ health + reflection) in place of
  grpclib: the libraries the agent served gRPC with before (one line, RSS only).

The agent runs as ``python -m puente_cli.agent`` (its systemd unit's command, what
``puente agent`` becomes by ``os.execv``), connected to Mosquitto, with signing, body
upload and the fingerprint hub configured and no devices. Ready time is from spawn to
the first 200 of ``/v1/status`` and to the gRPC health check answering SERVING, polled
every 10 ms; it is the median of
``repeats`` spawns interleaved with the bare servers' spawns, so a busy moment
weighs on both sides.

Before timing, the project's modules are byte-compiled (``compileall``), as an
installed agent's are: with ``PYTHONDONTWRITEBYTECODE`` set (it is, on the shared
machine) an uncompiled tree would be compiled from source at every start.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET_RSS_MB = 60.0
TARGET_READY_S = 1.5
PROJECT_PACKAGES = ("edge_agent", "drivers", "protos", "puente_cli", "puente_http", "hub")
UNIT = "unit-bench"

FLOOR_LIBRARIES = (
    "sqlite3, protobuf, paho-mqtt, pydantic, FastAPI, uvicorn, grpclib + health + reflection"
)

# argv: kind ("imports" or "servers"), HTTP port, gRPC port, gRPC library ("grpclib" or
# "grpcio": the library the agent served gRPC with before, kept as a comparison line).
_FLOOR = """
import sys
import sqlite3, google.protobuf.message, paho.mqtt.client, pydantic
import fastapi, uvicorn
if sys.argv[4] == "grpcio":
    import grpc
    from grpc_health.v1 import health, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection
else:
    import grpclib.server
    from grpclib.health.service import Health
    from grpclib.reflection.service import ServerReflection
if sys.argv[1] == "imports":
    import time
    time.sleep(3600)
app = fastapi.FastAPI()
@app.get("/v1/status")
def status() -> dict:
    return {"ok": True}
if sys.argv[4] == "grpcio":
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(4))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    reflection.enable_server_reflection((health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    server.add_insecure_port("127.0.0.1:" + sys.argv[3])
    server.start()
else:  # on its own event loop thread, as the agent's gRPC door
    import asyncio, threading
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    async def serve():
        server = grpclib.server.Server(ServerReflection.extend([Health()]))
        await server.start("127.0.0.1", int(sys.argv[3]))
        return server
    server = asyncio.run_coroutine_threadsafe(serve(), loop).result()
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", ws="none")
"""


def rss_mb(pid: int) -> float:
    return next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ready_s(proc: Any, url: str, grpc_port: int, started: float) -> float:
    """Seconds from spawn until ``url`` answers 200 and gRPC health answers (10 ms polls)."""
    import grpc
    import httpx
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    while time.monotonic() - started < 60:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    else:
        raise TimeoutError(url)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() - started < 60:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                return time.monotonic() - started
            except grpc.RpcError:
                time.sleep(0.01)
    raise TimeoutError(f"gRPC health on {grpc_port}")


def precompile(root: Path) -> None:
    """Byte-compile the project as an install does (``pip install`` writes the .pyc)."""
    for package in PROJECT_PACKAGES:
        compileall.compile_dir(root / package, quiet=1)


class _Floor:
    def __init__(self, kind: str, grpc_library: str = "grpclib") -> None:
        from tests.brokers import free_port

        self.port, self.grpc_port = free_port(), free_port()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _FLOOR,
                kind,
                str(self.port),
                str(self.grpc_port),
                grpc_library,
            ]
        )

    def ready(self) -> float:
        return ready_s(
            self.proc, f"http://127.0.0.1:{self.port}/v1/status", self.grpc_port, self.started
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _agent(workdir: Path, broker_url: str) -> Any:
    from tests.e2e.processes import Agent

    return Agent(
        workdir,
        "station-idle",
        UNIT,
        broker_url,
        log_level="WARNING",
        devices=[],
        hub_url="http://127.0.0.1:9",
    )


def agent_idle(broker_url: str, workdir: Path, seconds: float, repeats: int = 3) -> dict[str, Any]:
    """RSS and CPU of an idle agent after 5 s + ``seconds``, ready time (median of
    ``repeats``), and the two floors measured in the same run."""
    precompile(Path(__file__).resolve().parents[1])
    floor = _Floor("imports")
    try:
        time.sleep(5.0)
        floor_imports = rss_mb(floor.proc.pid)
    finally:
        floor.stop()
    old_floors = (_Floor("imports", "grpcio"), _Floor("servers", "grpcio"))
    try:  # the same floors with grpcio, as the agent served gRPC before (comparison only)
        old_floors[1].ready()
        time.sleep(5.0)
        grpcio_imports, grpcio_servers = (rss_mb(f.proc.pid) for f in old_floors)
    finally:
        for f in old_floors:
            f.stop()
    agent_ready: list[float] = []
    floor_ready: list[float] = []
    agent_cpu: list[float] = []  # CPU seconds the process used until ready: what load
    floor_cpu: list[float] = []  # does not inflate (a quiet machine's wall time is close)
    floor_servers = 0.0
    for i in range(repeats):
        servers = _Floor("servers")
        try:
            floor_ready.append(servers.ready())
            floor_cpu.append(cpu_s(servers.proc.pid))
            if i == repeats - 1:
                time.sleep(5.0)
                floor_servers = rss_mb(servers.proc.pid)
        finally:
            servers.stop()
        agent = _agent(workdir / f"idle-agent-{i}", broker_url)
        started = time.monotonic()
        agent.spawn()
        try:
            assert agent.proc is not None
            agent_ready.append(
                ready_s(agent.proc, f"{agent.url}/v1/status", agent.grpc_port, started)
            )
            agent_cpu.append(cpu_s(agent.proc.pid))
            if i < repeats - 1:
                continue
            time.sleep(5.0)
            pid = agent.proc.pid
            c0, t0 = cpu_s(pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu_s(pid), time.monotonic()
            rss = rss_mb(pid)
        finally:
            agent.stop()
    return {
        "rss_mb": rss,
        "cpu_percent": 100 * (c1 - c0) / (t1 - t0),
        "ready_s": statistics.median(agent_ready),
        "ready_runs_s": agent_ready,
        "floor_imports_rss_mb": floor_imports,
        "floor_servers_rss_mb": floor_servers,
        "floor_servers_ready_s": statistics.median(floor_ready),
        "floor_servers_ready_runs_s": floor_ready,
        "ready_cpu_s": statistics.median(agent_cpu),
        "floor_servers_ready_cpu_s": statistics.median(floor_cpu),
        "grpcio_floor_imports_rss_mb": grpcio_imports,
        "grpcio_floor_servers_rss_mb": grpcio_servers,
        "load_average": os.getloadavg()[0],
    }


def print_idle(idle: dict[str, Any]) -> None:
    rss, imports, servers = (
        idle["rss_mb"],
        idle["floor_imports_rss_mb"],
        idle["floor_servers_rss_mb"],
    )
    print(
        f"agent idle (load average {idle['load_average']:.1f} on {os.cpu_count()} cores): "
        f"RSS {rss:.1f} MB = {rss / servers:.2f} × the bare HTTP + gRPC servers "
        f"({servers:.1f} MB, +{rss - servers:.1f} MB) = {rss / imports:.2f} × the bare-imports "
        f"floor ({imports:.1f} MB: {FLOOR_LIBRARIES}); CPU {idle['cpu_percent']:.2f} %"
    )
    old_imports, old_servers = (
        idle["grpcio_floor_imports_rss_mb"],
        idle["grpcio_floor_servers_rss_mb"],
    )
    print(
        f"  the same floors with grpcio + health + reflection instead of grpclib (how the agent "
        f"served gRPC before): bare servers {old_servers:.1f} MB ({old_servers - servers:+.1f}), "
        f"bare imports {old_imports:.1f} MB ({old_imports - imports:+.1f})"
    )
    print(
        f"  target RSS ≤ {TARGET_RSS_MB:.0f} MB absolute: "
        f"{'OK' if rss <= TARGET_RSS_MB else 'NOT MET'} (the bare servers alone are "
        f"{servers - TARGET_RSS_MB:+.1f} MB from it)"
    )
    ready, floor_ready = idle["ready_s"], idle["floor_servers_ready_s"]
    print(
        f"agent local API (HTTP /v1/status and gRPC health) ready {ready:.2f} s after spawn "
        f"(median of {len(idle['ready_runs_s'])}) = {ready / floor_ready:.2f} × the bare "
        f"servers' {floor_ready:.2f} s (target ≤ {TARGET_READY_S} s: "
        f"{'OK' if ready <= TARGET_READY_S else 'NOT MET'})"
    )
    cpu, floor_cpu = idle["ready_cpu_s"], idle["floor_servers_ready_cpu_s"]
    print(
        f"  CPU used until ready (what load does not inflate): {cpu:.2f} s = "
        f"{cpu / floor_cpu:.2f} × the bare servers' {floor_cpu:.2f} s"
    )
