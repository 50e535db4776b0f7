"""Is this file a deskcli store, is it whole, and what went wrong when the disk said no.

The store is the technician's only copy of work not yet synced, so the storage layer
guards it from three directions:

- *Foreign files*: a store carries ``PRAGMA application_id`` = ``APPLICATION_ID``. A file
  with another id, or an SQLite file of some other program, is refused rather than
  adopted (adopting would add our tables to it). Stores written before the id existed
  are recognised by their tables and stamped on their next open.
- *Damage*: after an unclean shutdown (a write-ahead log left behind that no running
  process holds) the store runs ``PRAGMA quick_check`` once; ``deskcli doctor`` always
  does. A store found damaged gets a marker file beside it and is refused for writing
  until it is recovered, so nothing is written on top of broken pages.
- *Disk trouble*: SQLite's errors ("cannot rollback - no transaction is active", "attempt
  to write a readonly database") become one sentence that says what happened to the
  disk and what to do.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

#: ``PRAGMA application_id`` of every deskcli store: "desk" in ASCII.
APPLICATION_ID = 0x6465736B

#: Tables every deskcli store has had since its first schema version; a file without an
#: application id is only taken for an older store when it has all of them.
CORE_TABLES = frozenset({"meta", "tickets", "outbox", "events", "callers", "clients"})

#: Byte of the ``-shm`` file that SQLite's unix VFS keeps share-locked for as long as a
#: connection has the database open (its "dead man switch", ``UNIX_SHM_DMS``).
_SHM_DMS_BYTE = 128

# Primary result codes (the low byte of an extended code).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26)


#: Failures of the disk or the file itself, as opposed to a statement's own (a constraint,
#: a syntax error), which callers may catch and handle as sqlite3 errors.
_ENVIRONMENT_CODES = frozenset({_PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB})


def from_environment(error: BaseException) -> bool:
    """Whether ``error`` is the disk's or the file's doing (see ``explain``)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _ENVIRONMENT_CODES


class StoreError(Exception):
    """The database cannot be used (newer schema, not a deskcli file, disk trouble)."""


class StoreDamaged(StoreError):
    """The store's pages are damaged: reading may be wrong and writing would make it worse."""


class ForeignDatabase(StoreError):
    """An SQLite file (or another file) that is not a deskcli store."""


class ContentMismatch(StoreError, ValueError):
    """Attachment bytes that do not hash to the name they came with."""


class DiskProblem(StoreError):
    """The disk refused: full, read-only, permission denied, or an I/O error."""


# --- recovery advice -----------------------------------------------------------------


def recovery_advice(path: Path) -> str:
    """What a technician can do about a damaged store, in the order we would try it."""
    return ("to recover, run 'deskcli doctor --salvage': it copies every record that can "
            "still be read into a new store and keeps the damaged file beside it; a store "
            "that syncs then fetches what was lost from the team server on the next "
            f"'deskcli sync'. Or move {path} aside and log in again to start from the "
            "server's copy (changes never synced stay only in the old file)")


# --- the damage marker ----------------------------------------------------------------


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".damaged")


def read_marker(path: Path) -> dict[str, object] | None:
    """The damage recorded for the store at ``path``, or None (also for a stale marker)."""
    marker = marker_path(path)
    try:
        text = marker.read_text(encoding="utf-8")
    except FileNotFoundError:  # the usual case: every open asks, so no JSON loaded for it
        return None
    except (OSError, ValueError):
        return {"problem": "the damage marker cannot be read", "inode": None}
    import json

    try:
        found = json.loads(text)
    except ValueError:
        return {"problem": "the damage marker cannot be read", "inode": None}
    return found if isinstance(found, dict) else {"problem": str(found), "inode": None}


def write_marker(path: Path, problem: str) -> None:
    """Remember the damage even after the log is checkpointed away (best effort)."""
    import json

    from deskcli.paths import private_file

    try:
        inode = path.stat().st_ino
        marker = private_file(marker_path(path))
        marker.write_text(json.dumps({"problem": problem, "inode": inode}), encoding="utf-8")
    except OSError:
        pass  # a disk that cannot take the marker: the open still refuses this time


def clear_marker(path: Path) -> None:
    try:
        marker_path(path).unlink()
    except FileNotFoundError:
        pass


def damaged_error(path: Path, problem: str) -> StoreDamaged:
    return StoreDamaged(f"{path} is damaged ({problem}); deskcli will not write to it. "
                        + recovery_advice(path))


# --- unclean shutdown -------------------------------------------------------------------


def left_by_a_crash(path: Path) -> bool:
    """Whether a write-ahead log beside ``path`` was left by a process that died.

    A connection that closes last checkpoints and deletes the ``-wal`` file, so one that
    is still there belongs either to a running deskcli (the console open while a command
    runs: no check needed) or to one that was killed or lost power. SQLite keeps a shared
    lock on one byte of the ``-shm`` file for as long as any connection is open; if we can
    take that byte exclusively, nobody holds it. Costs two stats on a clean store.

    Call only when this process has no connection to ``path`` open: POSIX drops all of a
    process's locks on a file when any descriptor of it closes.
    """
    wal = path.with_name(path.name + "-wal")
    try:
        if wal.stat().st_size == 0:
            return False
    except OSError:
        return False
    try:
        import fcntl
    except ImportError:  # no POSIX locks here (Windows): check whenever a log is left
        return True
    try:
        descriptor = os.open(path.with_name(path.name + "-shm"), os.O_RDWR)
    except OSError:
        return True  # a log without its index: certainly not a running process's
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        return False  # someone has the store open right now
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return True
    finally:
        os.close(descriptor)


def quick_check(connection: sqlite3.Connection) -> str | None:
    """None when ``PRAGMA quick_check`` finds the pages sound, else what it found."""
    try:
        rows = [str(row[0]) for row in connection.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as error:
        return str(error)
    if rows == ["ok"]:
        return None
    summary = "; ".join(rows[:3])
    return summary + (f" (and {len(rows) - 3} more problems)" if len(rows) > 3 else "")


# --- is it ours -------------------------------------------------------------------------


def check_ownership(connection: sqlite3.Connection, path: Path) -> bool:
    """Raise ForeignDatabase unless ``path`` is a deskcli store or empty.

    Returns True when the file still needs our application id stamped (new, or written
    by a deskcli from before the id).
    """
    application_id = int(connection.execute("PRAGMA application_id").fetchone()[0])
    if application_id == APPLICATION_ID:
        return False
    if application_id != 0:
        raise ForeignDatabase(
            f"{path} belongs to another program (SQLite application id {application_id:#x}), "
            "not deskcli; deskcli leaves it untouched. Point DESKCLI_HOME elsewhere or move "
            "the file away")
    tables = {str(row[0]) for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if not tables and version == 0:
        return True  # empty: a new store
    if CORE_TABLES <= tables and version > 0:
        return True  # written by a deskcli from before the application id
    shown = ", ".join(sorted(tables)[:5]) or "no tables"
    raise ForeignDatabase(
        f"{path} is an SQLite database of some other program ({shown}), not a deskcli "
        "store; deskcli leaves it untouched. Point DESKCLI_HOME elsewhere or move the "
        "file away")


# --- what the disk said -------------------------------------------------------------------


def _read_only_disk(path: Path) -> bool:
    probe = path if path.exists() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _writable(path: Path) -> bool:
    if path.exists():
        folder_ok = os.access(path.parent, os.W_OK | os.X_OK)
        return os.access(path, os.R_OK | os.W_OK) and folder_ok
    return os.access(path.parent, os.W_OK | os.X_OK) if path.parent.exists() else True


def _disk_full(path: Path) -> bool:
    probe = path.parent if path.parent.exists() else path
    try:
        stats = os.statvfs(probe)
    except (OSError, AttributeError):
        return False
    return stats.f_bavail * stats.f_frsize < 1024 * 1024


def explain(error: BaseException, path: Path | None) -> StoreError:
    """One sentence for a failure of the disk or database under the store at ``path``."""
    if isinstance(error, StoreError):
        return error
    where = str(path) if path is not None else "the deskcli store"
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    number = error.errno if isinstance(error, OSError) else None
    detail = str(error)
    if primary == _FULL or number in (errno.ENOSPC, errno.EDQUOT) or (
            primary == _IOERR and path is not None and _disk_full(path)):
        return DiskProblem(
            f"the disk holding {where} is full: the change was not saved (the store is as "
            "it was before the command). Free some space and run the command again")
    if number == errno.EROFS or (primary in (_READONLY, _CANTOPEN, _PERM, _IOERR)
                                 and path is not None and _read_only_disk(path)):
        return DiskProblem(
            f"{where} is on a read-only disk: deskcli needs to write there. Remount it "
            "read-write, or point DESKCLI_HOME to a writable folder")
    if number in (errno.EACCES, errno.EPERM) or (
            primary in (_READONLY, _CANTOPEN, _PERM) and path is not None
            and not _writable(path)):
        return DiskProblem(
            f"permission denied on {where}: this user cannot read and write it (and its "
            "folder). Fix the owner or mode (deskcli makes it 0600, its folder 0700), or run "
            "deskcli as the user who owns it")
    if primary == _CORRUPT:
        if path is not None:
            write_marker(path, detail)
            return damaged_error(path, detail)
        return StoreDamaged(f"the store is damaged ({detail}); run 'deskcli doctor'")
    if primary == _NOTADB:
        return ForeignDatabase(
            f"{where} is not a deskcli database (not an SQLite file at all); deskcli leaves "
            "it untouched. Point DESKCLI_HOME elsewhere or move the file away")
    if primary in (_BUSY, _LOCKED):
        return StoreError(f"{where} is busy: another deskcli kept it locked for too long; "
                          "run the command again")
    if primary == _READONLY:
        return DiskProblem(f"{where} cannot be written ({detail})")
    if primary in (_IOERR, _CANTOPEN) or isinstance(error, OSError):
        return DiskProblem(f"a disk error on {where}: {detail}; check the disk "
                           "(and 'deskcli doctor')")
    return StoreError(f"the database failed on {where}: {detail}")
