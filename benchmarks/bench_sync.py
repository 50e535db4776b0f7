"""Sync throughput and latency through a real team server on 127.0.0.1.

1. Push 10,000 ops from one store, then pull them into a second store; report ops/second.
   Floor, measured in the same run: exactly the rows the push left in the server's tables
   (feed, entity index, field versions, numbers) written straight into a fresh database,
   one executemany per table in one transaction: no HTTP, JSON, checks or merging.
   Target: at least a quarter of the floor's rate.
   Push and pull are timed on their own (a full round would also pull the writer's own
   ops back). Pull rate is reported beside the same floor.
2. 20 clients pushing small batches at once: p50 and p99 latency of a sync round.

Run: python benchmarks/bench_sync.py [--ops 10000] [--clients 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import Session

from deskcli.domain.intake import NewTicket
from deskcli.paths import Paths
from deskcli.server.auth import add_tech
from deskcli.server.db import init_database, make_engine
from deskcli.services.desk import open_desk
from deskcli.sync.client import SyncClient, SyncReport
from deskcli.sync.credentials import Credentials


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deskcli", "serve", "--port", str(port), "--database-url", url],
        env={**os.environ, "DESKCLI_HOME": str(home)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def token_for(url: str, handle: str) -> str:
    engine = make_engine(url)
    init_database(engine)
    with Session(engine) as session:
        issued = add_tech(session, handle, name=handle, tier=1, clients=["Acme"], admin=False,
                          now_iso="2026-01-01T00:00:00Z")
        session.commit()
    engine.dispose()
    return issued.token


def desk_at(root: Path, actor: str):  # type: ignore[no-untyped-def]
    return open_desk(Paths(root / "data", root / "config"), actor=actor)


SERVER_TABLES = ("srv_op", "srv_entity", "srv_field", "srv_number")


def direct_write_floor(source_url: str, floor_url: str) -> float:
    """Copy exactly the rows the push left in the server's tables into a fresh database,
    one executemany per table in one transaction: the same rows, written directly."""
    from sqlalchemy import MetaData

    source = make_engine(source_url)
    metadata = MetaData()
    metadata.reflect(source, only=list(SERVER_TABLES))
    with source.connect() as conn:
        rows = {name: [dict(r._mapping) for r in conn.execute(metadata.tables[name].select())]
                for name in SERVER_TABLES}
    source.dispose()
    target = make_engine(floor_url)
    init_database(target)
    started = time.perf_counter()
    with target.begin() as conn:
        for name in SERVER_TABLES:
            if rows[name]:
                conn.execute(metadata.tables[name].insert(), rows[name])
    elapsed = time.perf_counter() - started
    target.dispose()
    return elapsed


def one_run(root: Path, url: str, floor_url: str, ops_wanted: int) -> dict[str, float]:
    """Push ops_wanted ops from a fresh store, pull them into another, time the floor."""
    writer = desk_at(root / "writer", "ana")
    while writer.store.sync.outbox_count() < ops_wanted:
        ticket = writer.tickets.create(NewTicket(summary="Benchmark ticket", client="Acme"))
        writer.tickets.add_note(ticket["id"], "Checked the logs", internal=True)
    count = writer.store.sync.outbox_count()
    process, base = start_server(url, root / "server-home")
    try:
        token = token_for(url, "ana")
        client = SyncClient(writer, Credentials(base, token, "bench"))
        client.join("ana")
        report = SyncReport(server=base)
        client.ensure_lease(report)
        started = time.perf_counter()
        client.push(report)  # push alone: HTTP, validation, merge, commit, local acks
        push_s = time.perf_counter() - started
        reader = desk_at(root / "reader", "ana")
        reader_client = SyncClient(reader, Credentials(base, token, "bench"))
        reader_client.join("ana")
        pulled = SyncReport(server=base)
        started = time.perf_counter()
        reader_client.pull(pulled)  # pull alone: pages, apply, cursor
        pull_s = time.perf_counter() - started
        assert report.pushed == count and pulled.pulled >= count, (report, pulled)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    floor_s = direct_write_floor(url, floor_url)
    return {"ops": count, "push_s": push_s, "pull_s": pull_s, "floor_s": floor_s}


def latency_run(root: Path, url: str, clients: int) -> list[float]:
    process, base = start_server(url, root / "server-home")
    latencies: list[float] = []
    lock = threading.Lock()

    def one_client(index: int) -> None:
        handle = f"c{index}"
        desk = desk_at(root / handle, handle)
        sync = SyncClient(desk, Credentials(base, token_for(url, handle), "bench"))
        sync.join(handle)
        sync.sync()
        for _ in range(10):
            desk.tickets.create(NewTicket(summary="Small batch", client="Acme"))
            started = time.perf_counter()
            sync.sync()
            with lock:
                latencies.append(time.perf_counter() - started)
        sync.close()
        desk.close()

    try:
        threads = [threading.Thread(target=one_client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="deskcli-bench-sync-"))
        try:
            runs.append(one_run(root, f"sqlite:///{root / 'server.db'}",
                                f"sqlite:///{root / 'floor.db'}", args.ops))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"run {index + 1}: " + ", ".join(f"{k}={v:.3f}" for k, v in runs[-1].items()),
              file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="deskcli-bench-sync-"))
    try:
        latencies = latency_run(root, f"sqlite:///{root / 'server.db'}", args.clients)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ops = statistics.median(r["ops"] for r in runs)
    push_ratio = statistics.median(r["floor_s"] / r["push_s"] for r in runs)
    pull_ratio = statistics.median(r["floor_s"] / r["pull_s"] for r in runs)
    result = {
        "ops": int(ops),
        "runs": args.runs,
        "floor_direct_write_ops_per_s": round(statistics.median(r["ops"] / r["floor_s"]
                                                                for r in runs)),
        "push_ops_per_s": round(statistics.median(r["ops"] / r["push_s"] for r in runs)),
        "pull_ops_per_s": round(statistics.median(r["ops"] / r["pull_s"] for r in runs)),
        "push_vs_floor_median": round(push_ratio, 3),
        "pull_vs_floor_median": round(pull_ratio, 3),
        "target": ">= 0.25",
        "concurrent_clients": args.clients,
        "sync_round_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "sync_round_p99_ms": round(latencies[min(len(latencies) - 1,
                                                 int(len(latencies) * 0.99))] * 1000, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
