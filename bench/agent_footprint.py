"""bench/agent_footprint: the agent's share of bench/ingest, alone (outbox appends, idle agent).

Run: ``.venv/bin/python -m bench.agent_footprint`` (``--help``). Prints, each as a
ratio against a baseline measured in the same run:
- outbox appends/s with per-call durability vs raw SQLite on the same disk: one
  caller vs an fsync per row (target ≥ 0.8 ×), 32 callers vs 32 rows per fsync
  (target ≥ 0.5 ×) twice — 32 threads blocking in ``append`` and 32 coroutines on one
  event loop awaiting ``append_async`` (how the agent's HTTP routes call it) — slices
  interleaved so a busy disk weighs on both sides, with CPU µs per append (``--fixed-sync-us
  150``: on tmpfs, a 150 µs sleep after every COMMIT on every side instead of the fsync);
- a ``puente agent``'s idle RSS vs bare HTTP + gRPC servers and vs the bare-imports
  floor of the libraries it needs at idle (target ≤ 60 MB absolute), and the time
  from spawn to a local API that answers (HTTP and gRPC) vs the bare servers'
  (target ≤ 1.5 s), median of ``--repeats`` interleaved spawns (bench/agent_idle.py).
The full ``bench.ingest`` prints the same figures after its pipeline runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.agent_idle import agent_idle, print_idle
from bench.ingest import outbox_appends, outbox_class_of, print_outbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice-seconds", type=float, default=0.4)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved slices per side")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3, help="agent spawns for ready time")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-outbox", action="store_true")
    parser.add_argument(
        "--fixed-sync-us",
        type=float,
        default=0.0,
        help="outbox figures on tmpfs (/dev/shm) with a sleep of this many µs after every "
        "COMMIT on every side instead of the disk's fsync: the disk's swings out",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (e.g. a git worktree of main): its outbox runs in the same "
        "slices as this one's, for before/after figures from one run",
    )
    args = parser.parse_args()

    from tests.brokers import Mosquitto

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="puente-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_outbox:
            before = outbox_class_of(args.before) if args.before else None
            if args.fixed_sync_us:
                with tempfile.TemporaryDirectory(prefix="puente-bench-", dir="/dev/shm") as shm:
                    appends = outbox_appends(
                        Path(shm), args.slice_seconds, args.rounds, before, args.fixed_sync_us / 1e6
                    )
            else:
                appends = outbox_appends(workdir, args.slice_seconds, args.rounds, before)
            results["outbox"] = appends
            print_outbox(appends)
        if not args.skip_idle:
            broker = Mosquitto(workdir / "mosquitto").start()
            try:
                results["agent_idle"] = idle = agent_idle(
                    broker.url, workdir, args.idle_seconds, args.repeats
                )
                print_idle(idle)
            finally:
                broker.stop()
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent_footprint.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
