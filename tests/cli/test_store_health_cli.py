"""Issue 14, finding 10, through the real ``deskcli`` entry point in child processes.

A process killed with SIGKILL leaves its write-ahead log behind, pages of the real file
are overwritten, a real tmpfs fills up or turns read-only (when the tests run as root and
may mount; otherwise those two are skipped and tests/storage/test_store_files.py covers
them with SQLite's own limits). Every failure must be one line, exit 1, no traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.storage import health
from sync.forkserver import ForkServer

pytestmark = pytest.mark.subprocess


def deskcli(home: Path, *args: str, umask: int | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m deskcli ARGS`` run to its end. Forked from the fork server (the same
    entry point and code in a process of its own, without the import time: these tests
    are about what commands do to a store, not how they start), except under a
    ``umask``, which needs a real start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCLI_")}
    env.update(DESKCLI_HOME=str(home), DESKCLI_TECH="dana")
    if umask is None:
        return ForkServer.get().run(list(args), env, timeout=timeout)

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "deskcli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False,
                          preexec_fn=set_umask)


def ok(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = deskcli(home, *args)
    assert done.returncode == 0, done.stderr
    return done


def failed_cleanly(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.startswith("deskcli: error: ") and done.stderr.count("\n") == 1
    return done.stderr


def new_ticket(home: Path, n: int, text: str = "") -> subprocess.CompletedProcess[str]:
    return deskcli(home, "new", "--summary", f"Outlook will not start ({n})", "--caller",
                   f"Caller {n}", "--client", "Acme", "--verbatim",
                   text or "It shows a profile error. " * 30)


def ticket_count(home: Path) -> int:
    connection = sqlite3.connect(f"file:{home / 'data' / 'deskcli.db'}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM tickets").fetchone()[0])
    finally:
        connection.close()


HOLD = """
import sys, time
from deskcli.services.desk import open_desk
from deskcli.domain.intake import NewTicket
desk = open_desk()
desk.store.db.execute("PRAGMA wal_autocheckpoint=0")
desk.tickets.create(NewTicket(summary="Written just before the crash", caller="Zed Q"))
print("ready", flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def holder(home: Path) -> Iterator[subprocess.Popen[str]]:
    """A deskcli process with the store open and a write in its log, until killed."""
    env = {**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "dana"}
    process = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE,
                               text=True, env=env)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def crash(home: Path) -> None:
    with holder(home) as process:
        process.kill()  # SIGKILL: no close, no checkpoint; the -wal stays behind


def overwrite_pages(path: Path, fraction: float = 0.4, pages: int = 6) -> None:
    page = 4096
    start = max(2, int(path.stat().st_size / page * fraction))
    with open(path, "r+b") as file:
        for number in range(start, start + pages):
            file.seek(number * page)
            file.write(bytes((number * 41 + i) % 253 for i in range(page)))


# --- permissions -------------------------------------------------------------------------


def test_files_and_folders_a_command_creates_are_private_under_umask_022(
        tmp_path: Path) -> None:
    home = tmp_path / "profile"
    done = deskcli(home, "new", "--summary", "Printer offline", "--caller", "Ann Lee",
                   umask=0o022)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "data" / "deskcli.db").stat().st_mode) == 0o600
    ok(home, "server", "add-tech", "dana", "--client", "Acme")
    assert stat.S_IMODE((home / "data" / "server.db").stat().st_mode) == 0o600


# --- unclean shutdown and damage ---------------------------------------------------------


def test_the_crash_probe_tells_a_running_deskcli_from_a_dead_one(tmp_path: Path) -> None:
    for n in range(3):
        assert new_ticket(tmp_path, n).returncode == 0
    database = tmp_path / "data" / "deskcli.db"
    assert not health.left_by_a_crash(database)  # closed cleanly: no log
    with holder(tmp_path) as process:
        assert Path(f"{database}-wal").stat().st_size > 0
        assert not health.left_by_a_crash(database)  # in use: not a crash
        ok(tmp_path, "queue")  # and a command alongside it runs as usual
        process.kill()
        process.wait()
        assert health.left_by_a_crash(database)
    assert ticket_count(tmp_path) == 4  # the write logged before the kill survives
    ok(tmp_path, "queue")  # the check after the crash finds the pages sound
    assert not health.left_by_a_crash(database)


def test_a_store_damaged_before_a_crash_is_refused_then_salvaged(tmp_path: Path) -> None:
    for n in range(40):
        assert new_ticket(tmp_path, n).returncode == 0
    database = tmp_path / "data" / "deskcli.db"
    crash(tmp_path)
    # Ticket pages, late in the file: damage to the schema pages leaves nothing to salvage.
    overwrite_pages(database, fraction=0.75)
    message = failed_cleanly(new_ticket(tmp_path, 99))
    assert "is damaged" in message and "will not write" in message
    assert "deskcli doctor --salvage" in message
    assert health.marker_path(database).exists()
    # Refused again without the crash log (the marker remembers), reads included.
    failed_cleanly(deskcli(tmp_path, "queue"))
    doctor = deskcli(tmp_path, "doctor")
    assert doctor.returncode == 1 and "FAIL  store" in doctor.stdout
    assert "Traceback" not in doctor.stderr
    salvaged = deskcli(tmp_path, "doctor", "--salvage")
    assert salvaged.returncode == 0, salvaged.stderr
    assert "salvaged" in salvaged.stderr and "broken-" in salvaged.stderr
    assert list(database.parent.glob("deskcli.db.broken-*"))
    kept = ticket_count(tmp_path)
    assert 0 < kept <= 41
    assert new_ticket(tmp_path, 100).returncode == 0
    assert ticket_count(tmp_path) == kept + 1
    assert deskcli(tmp_path, "doctor").returncode == 0


def test_damage_met_while_reading_is_named_and_remembered(tmp_path: Path) -> None:
    """No crash, so no check at open: the first command that reads a broken page says the
    store is damaged (not "the database failed"), and from then on every command refuses
    until the store is salvaged."""
    assert deskcli(tmp_path, "demo", "--tickets", "300", timeout=120).returncode == 0
    database = tmp_path / "data" / "deskcli.db"
    overwrite_pages(database)
    outcomes = [deskcli(tmp_path, *args) for args in (
        ("queue", "--all"), ("report", "--since", "400d"), ("kb", "search", "printer"))]
    hit = [done for done in outcomes if done.returncode != 0]
    assert hit, "no command read a damaged page: overwrite other pages"
    for done in hit:
        assert "is damaged" in failed_cleanly(done)
    assert health.marker_path(database).exists()
    assert "is damaged" in failed_cleanly(new_ticket(tmp_path, 1))


def test_doctor_finds_damage_without_a_crash(tmp_path: Path) -> None:
    for n in range(40):
        assert new_ticket(tmp_path, n).returncode == 0
    overwrite_pages(tmp_path / "data" / "deskcli.db")
    doctor = deskcli(tmp_path, "doctor", "--format", "json")
    assert doctor.returncode == 1
    rows = json.loads(doctor.stdout)
    assert {"status": "FAIL", "topic": "store"} == {k: rows[3][k] for k in ("status", "topic")}
    assert "salvage" in rows[3]["detail"]


def test_doctor_on_a_healthy_profile(tmp_path: Path) -> None:
    ok(tmp_path, "new", "--summary", "Printer offline", "--caller", "Ann Lee")
    os.chmod(tmp_path / "data" / "deskcli.db", 0o644)  # as an older deskcli left it
    done = deskcli(tmp_path, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("fixed ") and "was 0644" in lines[0]
    assert any(line.startswith("ok    store") and "quick_check ok" in line for line in lines)
    assert stat.S_IMODE((tmp_path / "data" / "deskcli.db").stat().st_mode) == 0o600


# --- foreign files -----------------------------------------------------------------------


def test_a_foreign_sqlite_file_is_refused_by_every_command(tmp_path: Path) -> None:
    database = tmp_path / "data" / "deskcli.db"
    database.parent.mkdir(parents=True)
    other = sqlite3.connect(database)
    other.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    other.commit()
    other.close()
    before = database.read_bytes()
    message = failed_cleanly(new_ticket(tmp_path, 1))
    assert "some other program (moz_places)" in message
    failed_cleanly(deskcli(tmp_path, "queue"))
    assert database.read_bytes() == before


# --- the disk says no: a real tmpfs -------------------------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; tests/storage covers this case")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of the file system under ``folder``."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(descriptor, b"\0" * size):
                    pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_says_so_on_a_real_tmpfs(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "3m") as mount:
        home = mount / "profile"
        for n in range(3):
            assert new_ticket(home, n).returncode == 0
        filler = fill(mount)
        message = failed_cleanly(new_ticket(home, 9, "a long description " * 1000))
        assert "is full" in message and "no transaction is active" not in message
        filler.unlink()
        assert ticket_count(home) == 3
        assert new_ticket(home, 10).returncode == 0


def test_a_read_only_disk_says_so_on_a_real_tmpfs(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "8m") as mount:
        home = mount / "profile"
        assert new_ticket(home, 1).returncode == 0
        remount = subprocess.run(["mount", "-o", "remount,ro", str(mount)],
                                 capture_output=True, text=True, check=False)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        for args in (("queue",), ("new", "--summary", "Mouse broken", "--caller", "Ann")):
            message = failed_cleanly(deskcli(home, *args))
            assert "read-only disk" in message and "not a deskcli database" not in message


def test_a_store_this_user_cannot_write_says_permission_denied(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file modes; tests/storage covers the message")
    assert new_ticket(tmp_path, 1).returncode == 0
    os.chmod(tmp_path / "data" / "deskcli.db", 0o400)
    try:
        message = failed_cleanly(new_ticket(tmp_path, 2))
        assert "permission denied" in message
    finally:
        os.chmod(tmp_path / "data" / "deskcli.db", 0o600)


# --- attachments --------------------------------------------------------------------------


def test_attachments_refuse_links_count_bytes_and_check_their_hash(tmp_path: Path) -> None:
    home = tmp_path / "profile"
    assert new_ticket(home, 1).returncode == 0
    shot = tmp_path / "error.txt"
    shot.write_text("0x80070005 access denied\n")
    link = tmp_path / "looks-harmless.txt"
    link.symlink_to(shot)
    refused = failed_cleanly(deskcli(home, "attach", "1001", str(link)), code=2)
    assert "symbolic link" in refused and "--follow-symlinks" in refused
    ok(home, "attach", "1001", str(link), "--follow-symlinks")
    ok(home, "attach", "1001", str(shot))
    # st_size says 0 for /proc files: the limit must count what is read.
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text("attachment_max_mb = 0.001\n")
    proc = Path("/proc/self/smaps")
    if proc.exists() and proc.stat().st_size == 0:
        big = failed_cleanly(deskcli(home, "attach", "1001", str(proc)), code=2)
        assert "attachments are limited to" in big
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "not a regular file" in failed_cleanly(
        deskcli(home, "attach", "1001", str(fifo), timeout=20), code=2)
    shown = json.loads(ok(home, "show", "1001", "--format", "json").stdout)
    first = shown["attachments"][0]
    out = tmp_path / "saved.txt"
    ok(home, "attachment", first["id"], "-o", str(out))
    assert out.read_text() == shot.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "already exists" in failed_cleanly(
        deskcli(home, "attachment", first["id"], "-o", str(out)), code=2)
    # Alter the stored bytes behind deskcli's back.
    connection = sqlite3.connect(home / "data" / "deskcli.db")
    connection.execute("UPDATE blobs SET data = ? WHERE sha256 = ?",
                       (b"0x00000000 all fine\n", first["sha256"]))
    connection.commit()
    connection.close()
    tampered = failed_cleanly(deskcli(home, "attachment", first["id"], "-o",
                                      str(tmp_path / "again.txt")))
    assert "does not match its SHA-256 hash" in tampered
    assert not (tmp_path / "again.txt").exists()
    doctor = deskcli(home, "doctor")
    assert doctor.returncode == 1 and "FAIL  attachments" in doctor.stdout
