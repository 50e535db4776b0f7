"""``deskcli doctor``: check everything a desk depends on, one line per check.

Each check is independent: a broken config file does not hide a damaged store, and a
store that cannot be opened does not hide a missing token. Nothing here writes to the
store; the only change doctor makes is narrowing our own files and folders to 0600/0700
(what deskcli creates them with) when an older version left them open to other users.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deskcli.paths import PRIVATE_DIR, PRIVATE_FILE, Paths, narrow

OK, FIXED, WARN, FAIL = "ok", "fixed", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    status: str  # OK, FIXED, WARN or FAIL
    topic: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except OSError:
        return None


def check_permissions(paths: Paths) -> list[Check]:
    """Our folders 0700 and files 0600; narrow what we own, report what we cannot."""
    checks: list[Check] = []
    data = paths.database
    candidates: list[tuple[Path, int]] = [(paths.data_dir, PRIVATE_DIR),
                                          (paths.config_dir, PRIVATE_DIR)]
    for suffix in ("", "-wal", "-shm", ".damaged"):
        candidates.append((data.with_name(data.name + suffix), PRIVATE_FILE))
    candidates += [(paths.data_dir / "server.db", PRIVATE_FILE),
                   (paths.data_dir / "drafts", PRIVATE_DIR), (paths.config_file, PRIVATE_FILE)]
    for path, wanted in candidates:
        before = _mode(path)
        if before is None or not before & ~wanted & 0o777:
            continue
        narrow(path, wanted)
        after = _mode(path)
        if after is not None and after & ~wanted & 0o777:
            checks.append(Check(FAIL, "permissions",
                                f"{path} is {after:04o} and deskcli cannot narrow it (not "
                                f"this user's): run chmod {wanted:o} {path} as its owner"))
        else:
            checks.append(Check(FIXED, "permissions",
                                f"{path} was {before:04o}, readable by other users; now "
                                f"{wanted:04o}"))
    if not checks:
        checks.append(Check(OK, "permissions", "store and config files are this user's "
                            "alone (files 0600, folders 0700)"))
    return checks


def check_config(paths: Paths, environ: Mapping[str, str]) -> list[Check]:
    from deskcli import checklists as checklist_files
    from deskcli.config import load_config
    from deskcli.domain.errors import DeskError

    checks: list[Check] = []
    try:
        config = load_config(paths.config_file, environ)
    except DeskError as error:
        return [Check(FAIL, "config", error.message)]
    where = str(paths.config_file) if paths.config_file.exists() else \
        f"no {paths.config_file} (defaults in use)"
    checks.append(Check(OK, "config", f"{where}; technician {config.tech}"))
    try:
        found = checklist_files.load_all(paths.config_dir)
    except DeskError as error:
        checks.append(Check(FAIL, "checklists", error.message))
    else:
        checks.append(Check(OK, "checklists", f"{len(found)} loaded: "
                            + ", ".join(sorted(found))))
    if config.notify.enabled:
        from deskcli.services.notify_templates import load_templates

        try:
            load_templates(paths.config_dir, config.notify)
        except DeskError as error:
            checks.append(Check(FAIL, "notify templates", error.message))
        else:
            checks.append(Check(OK, "notify templates", "all load"))
    return checks


def check_store(paths: Paths) -> tuple[list[Check], dict[str, str | None]]:
    """Open the store read-only if damaged, run ``quick_check`` and check attachments.

    Returns the checks and the login the store records (server URL and handle).
    """
    from deskcli.clock import SystemClock, new_id, now_ms
    from deskcli.domain.timefmt import to_iso
    from deskcli.storage import health
    from deskcli.storage.store import Store, StoreError

    login: dict[str, str | None] = {"server": None, "tech": None}
    path = paths.database
    if not path.exists():
        return [Check(WARN, "store", f"no store yet at {path}; the first command creates "
                      "it")], login
    try:
        store = Store.open(path, ids=new_id, now_ms=now_ms,
                           now_iso=lambda: to_iso(SystemClock().now()),
                           check=True, allow_damaged=True)
    except StoreError as error:
        return [Check(FAIL, "store", str(error))], login
    checks: list[Check] = []
    try:
        if store.damage is not None:
            checks.append(Check(FAIL, "store", str(health.damaged_error(path, store.damage))))
            return checks, login
        tickets = store.tickets.count()
        checks.append(Check(OK, "store", f"{path}: pages checked (quick_check ok), schema "
                            f"{store.schema_version}, {tickets} ticket(s), "
                            f"{store.sync.outbox_count()} change(s) not yet synced"))
        bad = store.attachments.blobs_not_matching_their_hash()
        if bad:
            checks.append(Check(FAIL, "attachments",
                                f"{len(bad)} stored file(s) do not match their SHA-256 hash "
                                f"(first: {bad[0][:12]}…); the store was damaged or altered. "
                                + health.recovery_advice(path)))
        else:
            checks.append(Check(OK, "attachments", "every stored file matches its hash"))
        login = {"server": store.meta("server_url"), "tech": store.meta("server_tech")}
    except StoreError as error:
        checks.append(Check(FAIL, "store", str(error)))
    finally:
        store.close()
    return checks, login


class FoundToken(Protocol):
    """A token found for a team server (``sync.credentials.Credentials``)."""

    @property
    def server(self) -> str: ...

    @property
    def source(self) -> str: ...


#: Looks up the token ``deskcli sync`` would use: (server, handle, environment) to the
#: token found or None. The front end hands in ``sync.credentials.load``: the services
#: layer does not import sync.
TokenFinder = Callable[[str | None, str | None, Mapping[str, str]], FoundToken | None]


def check_credentials(login: Mapping[str, str | None], environ: Mapping[str, str],
                      find_token: TokenFinder) -> list[Check]:
    """Whether ``deskcli sync`` would find a token, without contacting the server."""
    from deskcli.domain.errors import DeskError

    server, tech = login.get("server"), login.get("tech")
    try:
        found = find_token(server, tech, environ)
    except DeskError as error:
        return [Check(FAIL, "credentials", error.message)]
    if found is not None:
        return [Check(OK, "credentials", f"token for {found.server} from the {found.source}")]
    if server and tech:
        return [Check(FAIL, "credentials",
                      f"logged in to {server} as {tech} but no token is in the keyring: run "
                      f"'deskcli login --server {server} --tech {tech}' again")]
    try:
        import keyring

        backend = keyring.get_keyring()
        usable = getattr(backend, "priority", 1) > 0
    except Exception:  # noqa: BLE001 - any failure of a keyring backend means "none"
        usable, backend = False, None
    if usable:
        return [Check(OK, "credentials", "not logged in to a team server (working alone); "
                      f"keyring available ({type(backend).__name__})")]
    return [Check(WARN, "credentials", "not logged in to a team server, and no OS keyring: "
                  "'deskcli login' would fail; scripts can set DESKCLI_SERVER and "
                  "DESKCLI_TOKEN instead")]


def run_checks(paths: Paths, environ: Mapping[str, str] | None = None, *,
               find_token: TokenFinder) -> list[Check]:
    env = os.environ if environ is None else environ
    checks = check_permissions(paths)
    checks += check_config(paths, env)
    store_checks, login = check_store(paths)
    checks += store_checks
    checks += check_credentials(login, env, find_token)
    return checks


@dataclass(frozen=True)
class SalvageResult:
    copied: Mapping[str, int]
    damaged_tables: list[str]
    orphans_dropped: int
    kept_at: Path  # where the damaged file now is
    resync: bool  # whether the next sync fetches everything again


def salvage_store(paths: Paths, stamp: str) -> SalvageResult | None:
    """Replace a damaged store by a new one holding every row that can still be read.

    Returns None when the store is sound (nothing to do). The damaged file (and its -wal
    and -shm) is kept beside the new one, renamed ``deskcli.db.broken-STAMP``. A store
    that syncs forgets its sync position, so the next sync fetches from the team server
    everything the damage took. Run it with no other deskcli open on this store.
    """
    from deskcli.clock import SystemClock, new_id, now_ms
    from deskcli.domain.timefmt import to_iso
    from deskcli.storage import health
    from deskcli.storage.salvage import salvage
    from deskcli.storage.store import Store

    path = paths.database

    def opener(target: Path, **options: object) -> Store:
        return Store.open(target, ids=new_id, now_ms=now_ms,
                          now_iso=lambda: to_iso(SystemClock().now()), **options)  # type: ignore[arg-type]

    try:
        store = opener(path, check=True, allow_damaged=True)
    except health.StoreDamaged:
        pass  # so damaged that even the header cannot be read: salvage what we can
    else:
        sound = store.damage is None
        store.close()
        if sound:
            return None
    target = path.with_name(f"{path.name}.salvage-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    report = salvage(path, target, open_new=opener)
    kept = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("-wal", "-shm", ""):  # the log goes with its file, never onto the new one
        old = Path(f"{path}{suffix}")
        if old.exists():
            os.replace(old, Path(f"{kept}{suffix}"))
    os.replace(target, path)
    health.clear_marker(path)
    resync = False
    store = opener(path, check=True)
    try:
        if store.meta("server_url"):
            with store.transaction():
                store.set_meta("sync_cursor", None)
            resync = True
    finally:
        store.close()
    return SalvageResult(dict(report.copied), sorted(report.damaged_tables),
                         report.orphans_dropped, kept, resync)
