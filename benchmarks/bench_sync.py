"""Sync throughput and latency through a real team server on 127.0.0.1.

1. Push 10,000 ops from one store, then pull them into a second store.
   Push floor, measured in the same run: exactly the rows the push left in the server's
   tables (feed, entity index, field versions, numbers) written straight into a fresh
   database, one executemany per table in one transaction: no HTTP, JSON, checks or
   merging. Target: at least a quarter of the floor's rate.
   Pull floor, measured in the same run: exactly the rows the pull wrote into the second
   store (tickets, notes, events, field versions, the cursor...) written straight into a
   fresh store with one executemany per table in one of the store's own transactions (same
   pragmas, same full-text triggers). Target (issue 20): the pull at most 3x its floor.
2. 20 clients, each its own process, pushing small batches at once: p50, p95 and p99
   latency of a sync round. Every client is warmed up (one untimed round of the kind
   timed) and all of them wait for each other before each round, so each round's 20
   pushes are sent together and no untimed work overlaps a timed round; 20 rounds each,
   so the p99 is the fifth-slowest of 400. A round does what ``deskcli sync`` does once
   Python has started (open the store, load the credentials, a new HTTP connection, push,
   pull, close), or with ``--round console`` what the console's background sync does (one
   client and connection kept). Target (issue 20): p99 under 500 ms, on SQLite and on
   PostgreSQL with 4 server workers. Floor, same run, same processes, all clients at once:
   a bare GET /health on a new connection (what the machine, the HTTP client and the
   server's stack cost).

Run: python benchmarks/bench_sync.py [--ops 10000] [--clients 20] [--runs 3]
     [--postgres-url postgresql+psycopg://...] [--workers 4] [--skip-throughput]
     [--skip-latency] [--rounds 20] [--round command|console] [--free-running]
     [--history N]
With --postgres-url the server database is a fresh database on that cluster (quote figures
from a cluster with fsync on; the CI cluster runs with fsync off).
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
import time
from pathlib import Path
from typing import Any

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


def start_server(url: str, home: Path,
                 workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deskcli", "serve", "--port", str(port), "--database-url", url,
         "--workers", str(workers)],
        env={**os.environ, "DESKCLI_HOME": str(home)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
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


def fresh_postgres(base: str) -> str:
    """A new, empty database on the cluster at ``base``."""
    import secrets

    import psycopg

    name = "deskcli_bench_" + secrets.token_hex(4)
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base.rpartition('/')[0]}/{name}"


#: Local tables a pull may write; ``meta`` is the cursor, clock and last-sync stamp.
def _store_rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    import sqlite3

    db = sqlite3.connect(store.path)
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'kb_fts%' AND name NOT LIKE 'ticket_text%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%'")]
    rows = {t: [tuple(r) for r in db.execute(f'SELECT * FROM "{t}"')] for t in tables}
    db.close()
    return rows


def pull_floor(reader: Any, before: dict[str, list[tuple[Any, ...]]],
               root: Path) -> tuple[float, float]:
    """Write the rows the pull wrote into ``reader`` (what it holds now and did not hold
    before the pull) into a fresh store, one executemany per table in one of the store's
    own transactions: the same rows, the same schema, pragmas and triggers, no HTTP, JSON,
    checks or merging. Returns wall and CPU seconds of the writing alone (not of reading
    the rows out of ``reader`` or opening the fresh store)."""
    after = _store_rows(reader.store)
    written = {}
    for table, rows in after.items():
        held = set(before.get(table, []))
        written[table] = [r for r in rows if r not in held]
    floor = desk_at(root / "floor", "ana")
    db = floor.store.db
    started, cpu = time.perf_counter(), time.process_time()
    with floor.store.transaction():
        for table, rows in written.items():
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                db.executemany(f'INSERT OR REPLACE INTO "{table}" VALUES ({marks})', rows)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    floor.close()
    return elapsed, cpu


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
        before = _store_rows(reader.store)
        pulled = SyncReport(server=base)
        cpu = time.process_time(), _cpu_of(process.pid)
        started = time.perf_counter()
        reader_client.pull(pulled)  # pull alone: pages, apply, cursor
        pull_s = time.perf_counter() - started
        client_cpu_s = time.process_time() - cpu[0]
        pull_cpu_s = client_cpu_s + _cpu_of(process.pid) - cpu[1]
        pull_floor_s, pull_floor_cpu_s = pull_floor(reader, before, root)
        assert report.pushed == count and pulled.pulled >= count, (report, pulled)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    floor_s = direct_write_floor(url, floor_url)
    return {"ops": count, "push_s": push_s, "floor_s": floor_s, "pull_s": pull_s,
            "pull_floor_s": pull_floor_s, "pull_cpu_s": pull_cpu_s,
            "pull_client_cpu_s": client_cpu_s,
            "pull_floor_cpu_s": pull_floor_cpu_s}


def _cpu_of(pid: int) -> float:
    """CPU seconds a process has used (Linux /proc): the server's share of a pull."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(pid: int) -> float:
    """CPU seconds of the server process and its worker processes (``--workers``)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    total = 0.0
    for one in pids:
        try:
            total += _cpu_of(one)
        except OSError:  # a worker that ended
            pass
    return total


def _command_round(root: Path, handle: str, base: str, token: str) -> Any:
    """What ``deskcli sync`` does once its interpreter has started: open the desk, load
    the credentials (here from DESKCLI_SERVER/DESKCLI_TOKEN, as scripts give them), open a
    new HTTP connection, run one sync round, close both. The report, for checking."""
    from deskcli.sync import credentials

    desk = desk_at(root / handle, handle)
    try:
        creds = credentials.load(desk.store.meta("server_url"), desk.store.meta("server_tech"),
                                 environ={"DESKCLI_SERVER": base, "DESKCLI_TOKEN": token})
        assert creds is not None
        client = SyncClient(desk, creds)
        try:
            return client.sync()
        finally:
            client.close()
    finally:
        desk.close()


def _untimed(round_: Any) -> None:
    """An untimed round, once more if the machine's load cut it off (a kept-alive
    connection the server closed as the request went out): the warm-up must finish."""
    from deskcli.sync.client import SyncError

    try:
        round_()
    except SyncError:
        round_()


def _latency_client(root: str, base: str, handle: str, token: str, rounds: int,
                    start: Any, results: Any, server_pid: int = 0,
                    mode: str = "command", together: bool = True) -> None:
    """One technician's process: join and sync, then warm up (a ticket and one untimed
    round of the kind timed: the first push of a store takes the server's locked path and
    the first round in a process pays lazy imports, neither of which a technician's
    ``deskcli sync`` meets every time), wait for everyone, then ``rounds`` times create a
    ticket (as ``deskcli new`` would, not timed) and time the sync round that sends it.

    With ``together`` (the default) every client waits for all the others before each
    round, so the 20 pushes of a round really are sent at once and no client's untimed
    ticket creation runs while another's round is timed; without it (``--free-running``)
    clients start together once and then loop at their own pace. A round is what
    ``deskcli sync`` does after start-up (``mode="command"``: open the store, new
    connection, sync, close) or one background round of the console (``mode="console"``:
    the same client and connection kept across rounds). Then, as the floor, the same
    number of rounds of a bare ``GET /health`` on a new connection (what the machine, the
    client library and HTTP cost), all clients again at once."""
    from deskcli.sync.protocol import PROTOCOL_VERSION

    here = Path(root)
    desk = desk_at(here / handle, handle)
    sync = SyncClient(desk, Credentials(base, token, "bench"))
    try:
        sync.join(handle)
        _untimed(sync.sync)
        desk.tickets.create(NewTicket(summary="Warm-up", client="Acme"))
        _untimed(lambda: _command_round(here, handle, base, token) if mode == "command"
                 else sync.sync())
    except Exception:
        start.abort()  # the others stop waiting for this one
        raise
    if start.wait() == 0 and server_pid:
        results.put(("cpu", _server_cpu(server_pid)))
    latencies: list[float | None] = []
    client_cpu: list[float] = []
    for _ in range(rounds):
        desk.tickets.create(NewTicket(summary="Small batch", client="Acme"))
        if together:
            start.wait()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            report = _command_round(here, handle, base, token) if mode == "command" \
                else sync.sync()
            latencies.append(time.perf_counter() - started)
            client_cpu.append(time.process_time() - cpu)
            assert report.pushed >= 1 and not report.rejected, report
        except Exception:  # noqa: BLE001 - a failed round is counted, not timed
            latencies.append(None)
    if start.wait() == 0 and server_pid:
        results.put(("cpu", _server_cpu(server_pid)))
    floor = []
    import ssl

    for _ in range(rounds):
        if together:
            start.wait()
        started = time.perf_counter()
        # No CA bundle loaded (the server is plain http): the floor is the least a new
        # connection and one request can cost, whatever the client under test does.
        with httpx.Client(base_url=base, timeout=30,
                          verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), headers={
                "Authorization": f"Bearer {token}",
                "X-Deskcli-Protocol": str(PROTOCOL_VERSION)}) as bare:
            bare.get("/health")
        floor.append(time.perf_counter() - started)
    if start.wait() == 0 and server_pid:
        results.put(("cpu", _server_cpu(server_pid)))
    sync.close()
    desk.close()
    results.put((latencies, floor, client_cpu))


def seed_history(url: str, records: int) -> None:
    """Give the server a history before the latency run: ``records`` tickets of another
    client, each with its record row and its create's field version (``srv_entity``,
    ``srv_field``), as a server that has synced for a while holds. Nobody in the run may
    see them, so the pulls are unchanged; what they show is the cost of a push's reads on
    tables that are not empty (an empty server hid a scan of both on every push)."""
    import secrets

    from sqlalchemy import text

    engine = make_engine(url)
    init_database(engine)
    with engine.begin() as conn:
        for start in range(0, records, 20_000):
            ids = [secrets.token_hex(8) for _ in range(min(20_000, records - start))]
            conn.execute(text(
                "INSERT INTO srv_entity (entity, entity_id, scope, ticket_id) "
                "VALUES ('ticket', :i, 'history', NULL)"), [{"i": i} for i in ids])
            conn.execute(text(
                "INSERT INTO srv_field (entity, entity_id, field, value, hlc, seq, origin, "
                "tech) VALUES ('ticket', :i, '*', '{}', :h, 0, 'history', 'history')"),
                [{"i": i, "h": f"{0:015d}-000000-history"} for i in ids])
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE srv_entity"))
            conn.execute(text("ANALYZE srv_field"))
    engine.dispose()


def latency_run(root: Path, url: str, clients: int, workers: int = 1,
                rounds: int = 20, mode: str = "command", together: bool = True,
                history: int = 0
                ) -> tuple[list[float], int, list[float], list[float], list[float]]:
    """Sorted latencies of the sync rounds that finished, how many failed, the sorted
    floor latencies, the server's CPU seconds (all its processes) at the start of the
    rounds, between rounds and floor, and after the floor (a figure the machine's load
    does not stretch the way it stretches wall time), and the sorted client CPU seconds
    of each round (the client's own share of the two cores all of this runs on)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    if history:
        seed_history(url, history)
    process, base = start_server(url, root / "server-home", workers)
    latencies: list[float] = []
    floor: list[float] = []
    client_cpu: list[float] = []
    failed = 0
    try:
        tokens = {f"c{i}": token_for(url, f"c{i}") for i in range(clients)}
        # A client that dies breaks the barrier (``abort``) rather than leave the others
        # waiting; the timeout bounds a client that hangs.
        start = context.Barrier(clients, timeout=600)
        results = context.Queue()
        children = [context.Process(target=_latency_client,
                                    args=(str(root), base, handle, token, rounds, start,
                                          results, process.pid, mode, together))
                    for handle, token in tokens.items()]
        for child in children:
            child.start()
        cpu: list[float] = []
        done = 0
        while done < len(children):
            got = results.get(timeout=900)
            if got[0] == "cpu":
                cpu.append(got[1])
                continue
            timed, bare, spent = got
            done += 1
            client_cpu.extend(spent)
            latencies.extend(t for t in timed if t is not None)
            failed += sum(t is None for t in timed)
            floor.extend(bare)
        for child in children:
            child.join(timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return sorted(latencies), failed, sorted(floor), sorted(cpu), sorted(client_cpu)


def p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.95))]


def p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20,
                        help="sync rounds per latency client (20 clients x 20 rounds: the "
                             "p99 is the fifth-slowest of 400 rounds, not the second of 200)")
    parser.add_argument("--free-running", action="store_true",
                        help="clients start together once, then loop at their own pace "
                             "(as before 2 Dec 2026) instead of all waiting for each other "
                             "before every round")
    parser.add_argument("--postgres-url", help="run the server on a fresh database there")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes for the latency run (PostgreSQL only)")
    parser.add_argument("--history", type=int, default=0,
                        help="records (tickets of another client) the server holds before "
                             "the latency run, as a server with history does")
    parser.add_argument("--round", choices=("command", "console"), default="command",
                        help="command: each round does what 'deskcli sync' does after "
                             "start-up (open the store, new connection); console: one "
                             "client kept across rounds, as the console's background sync")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()

    def server_url(root: Path) -> str:
        if args.postgres_url:
            return fresh_postgres(args.postgres_url)
        return f"sqlite:///{root / 'server.db'}"

    result: dict[str, Any] = {"backend": "postgresql" if args.postgres_url else "sqlite"}
    runs = []
    for index in range(0 if args.skip_throughput else args.runs):
        root = Path(tempfile.mkdtemp(prefix="deskcli-bench-sync-"))
        try:
            floor_url = (fresh_postgres(args.postgres_url) if args.postgres_url
                         else f"sqlite:///{root / 'floor.db'}")
            runs.append(one_run(root, server_url(root), floor_url, args.ops))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"run {index + 1}: " + ", ".join(f"{k}={v:.3f}" for k, v in runs[-1].items()),
              file=sys.stderr)
    if runs:
        result.update({
            "ops": int(statistics.median(r["ops"] for r in runs)),
            "runs": args.runs,
            "push_floor_ops_per_s": round(statistics.median(r["ops"] / r["floor_s"]
                                                            for r in runs)),
            "push_ops_per_s": round(statistics.median(r["ops"] / r["push_s"] for r in runs)),
            "push_rate_vs_floor_median": round(statistics.median(
                r["floor_s"] / r["push_s"] for r in runs), 3),
            "push_target": "rate >= 0.25 x floor",
            "pull_floor_s_median": round(statistics.median(r["pull_floor_s"] for r in runs), 3),
            "pull_s_median": round(statistics.median(r["pull_s"] for r in runs), 3),
            "pull_time_vs_floor_median": round(statistics.median(
                r["pull_s"] / r["pull_floor_s"] for r in runs), 2),
            # CPU seconds (client and server processes against the floor's): steadier than
            # wall time on a shared, loaded machine; fsync waits are not in it.
            "pull_cpu_vs_floor_cpu_median": round(statistics.median(
                r["pull_cpu_s"] / r["pull_floor_cpu_s"] for r in runs), 2),
            "pull_target": "time <= 3 x floor",
        })
    if not args.skip_latency:
        root = Path(tempfile.mkdtemp(prefix="deskcli-bench-sync-"))
        try:
            latencies, failed, floor, cpu, client_cpu = latency_run(
                root, server_url(root), args.clients, args.workers, args.rounds, args.round,
                together=not args.free_running, history=args.history)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        result.update({
            "concurrent_clients": args.clients,
            "client_processes": True,
            "round": args.round,
            "rounds_start_together": not args.free_running,
            "server_workers": args.workers,
            "server_history_records": args.history,
            "sync_rounds": len(latencies),
            "sync_rounds_failed": failed,
            "sync_round_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "sync_round_p99_ms": round(p99(latencies) * 1000, 1),
            "sync_round_max_ms": round(latencies[-1] * 1000, 1),
            "sync_round_p95_ms": round(p95(latencies) * 1000, 1),
            "client_cpu_ms_per_round_p50": round(statistics.median(client_cpu) * 1000, 1),
            "client_cpu_ms_per_round_p99": round(p99(client_cpu) * 1000, 1),
            "floor_health_get_p50_ms": round(statistics.median(floor) * 1000, 1),
            "floor_health_get_p95_ms": round(p95(floor) * 1000, 1),
            "floor_health_get_p99_ms": round(p99(floor) * 1000, 1),
            "p99_vs_floor_p99": round(p99(latencies) / p99(floor), 2),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            # Server CPU per round: a sync round against one bare request.
            "server_cpu_ms_per_round": round((cpu[1] - cpu[0]) * 1000
                                             / (args.clients * args.rounds), 1),
            "floor_server_cpu_ms_per_round": round((cpu[2] - cpu[1]) * 1000
                                                   / (args.clients * args.rounds), 1),
            "latency_target": "p99 < 500 ms",
        })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
