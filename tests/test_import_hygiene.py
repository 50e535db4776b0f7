"""The core stays headless: importing it must not drag in the TUI or the server stack.

Checked in a fresh interpreter, because this test process has long since imported
everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE_MODULES = [
    "deskcli.domain.engine", "deskcli.domain.sla", "deskcli.domain.intake",
    "deskcli.storage.store", "deskcli.services.desk", "deskcli.services.tickets",
    "deskcli.services.demo", "deskcli.tui.session", "deskcli.services.drafts",
    "deskcli.services.worktimer", "deskcli.checklists", "deskcli.sync.client",
    "deskcli.sync.apply", "deskcli.services.notify", "deskcli.services.outbound",
    "deskcli.notify.channels", "deskcli.notify.pagerduty", "deskcli.notify.webhook",
    "deskcli.notify.email", "deskcli.storage.outbound", "deskcli.services.mail",
    "deskcli.storage.mail", "deskcli.services.rules", "deskcli.storage.rules",
]
#: imapclient loads only when a mailbox is actually opened (``deskcli.intake.imap``);
#: orjson only when bulk creation starts (``storage/encoding.py``: loading it costs a
#: short command more than it saves).
FORBIDDEN = ["textual", "fastapi", "uvicorn", "httpx", "sqlalchemy", "sqlmodel", "pydantic",
             "imapclient", "alembic", "orjson"]
#: The sync client may use httpx, but only once a sync actually runs.
DOMAIN_FORBIDDEN = FORBIDDEN + ["sqlite3", "deskcli.storage", "deskcli.services", "rich",
                                "typer"]


def _loaded(modules: list[str]) -> set[str]:
    code = (f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return set(json.loads(out))


@pytest.mark.subprocess
def test_domain_storage_and_services_import_without_tui_or_server() -> None:
    loaded = _loaded(CORE_MODULES)
    leaked = sorted(m for m in FORBIDDEN if m in loaded)
    assert not leaked, f"core modules pulled in {leaked}"


@pytest.mark.subprocess
def test_domain_is_pure() -> None:
    """No database driver, no front-end library: the domain is plain Python."""
    domain = ["deskcli.domain." + m for m in ("engine", "sla", "intake", "numbering", "hlc",
                                              "validation", "communication", "priority",
                                              "notify", "templates", "mail", "mailboxes", "rules")]
    loaded = _loaded(domain)
    leaked = sorted(m for m in DOMAIN_FORBIDDEN if m in loaded)
    assert not leaked, f"the domain imported {leaked}"


@pytest.mark.subprocess
def test_a_desk_without_a_rules_file_never_loads_the_rules(tmp_path: object) -> None:
    """``deskcli new`` on a desk without rules.toml pays nothing for rules (issue 18)."""
    code = ("import json, sys\nfrom deskcli.services.desk import open_desk\n"
            "from deskcli.paths import Paths\nfrom pathlib import Path\n"
            f"root = Path({str(tmp_path)!r})\n"
            "open_desk(Paths(root / 'data', root / 'config')).close()\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = set(json.loads(out))
    assert not {"deskcli.services.rules", "deskcli.domain.rules",
                "deskcli.storage.rules"} & loaded


#: Run with the TUI's and the server's packages unimportable, as on a machine that has
#: only the core installed: any import of them on these paths fails the command.
_BLOCKED_RUN = """
import importlib.abc, json, sys
BLOCKED = {blocked!r}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed here (blocked by the test)")
        return None

sys.meta_path.insert(0, Blocker())
from deskcli.cli.launch import run
for args in {commands!r}:
    sys.argv = ["deskcli", *args]
    try:
        run()
    except SystemExit as exit:
        if exit.code:
            raise SystemExit(f"{{args}} exited {{exit.code}}")
print("\\nLOADED " + json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & BLOCKED)))
"""


@pytest.mark.subprocess
def test_short_commands_run_with_textual_and_the_server_stack_not_installed(
        tmp_path: object) -> None:
    """``deskcli new``, ``new --from`` (a bulk import large enough for ``big_batch``),
    ``queue`` and ``show`` work where textual, fastapi, sqlalchemy and the rest cannot
    be imported at all, not only without loading them."""
    import os
    from pathlib import Path

    home = Path(str(tmp_path))
    records = home / "records.jsonl"
    records.write_text("".join(json.dumps({"summary": f"Alert {n}", "client": "Acme",
                                           "caller": f"Caller {n % 7}"}) + "\n"
                               for n in range(150)))
    commands = [["new", "--summary", "Printer offline", "--priority", "P2"],
                ["new", "--from", str(records)], ["queue", "--format", "tsv"],
                ["show", "1001", "--format", "json"], ["show", "1151"]]
    blocked = sorted(set(FORBIDDEN) - {"orjson"} | {"rich"})
    code = _BLOCKED_RUN.format(blocked=set(blocked), commands=commands)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False,
                          env={**os.environ, "DESKCLI_HOME": str(home / "home"),
                               "DESKCLI_TECH": "sam"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "LOADED []", done.stdout[-500:]
    assert "Printer offline" in done.stdout and "Alert 149" in done.stdout


#: What the short commands' modules load at import (issue 20): no ``dataclasses`` (it
#: brings ``inspect``, ``ast``, ``dis`` and ``tokenize``, about 5 ms), no ``tomllib``
#: (a checklist is decoded only when read).
SHORT_PATH = ["deskcli.cli.launch", "deskcli.cli.quick", "deskcli.cli.session",
              "deskcli.services.desk", "deskcli.services.tickets", "deskcli.services.kb",
              "deskcli.domain.intake", "deskcli.domain.engine", "deskcli.domain.checklist",
              "deskcli.domain.kb", "deskcli.checklists", "deskcli.cli.render"]
SHORT_FORBIDDEN = ["dataclasses", "inspect", "ast", "dis", "tokenize", "tomllib", "typer",
                   "click", "rich", "hashlib", "uuid"]


@pytest.mark.subprocess
def test_the_short_commands_modules_load_no_dataclasses_or_parsers() -> None:
    loaded = _loaded(SHORT_PATH)
    leaked = sorted(m for m in SHORT_FORBIDDEN if m in loaded)
    assert not leaked, f"the short commands' modules pulled in {leaked}"


@pytest.mark.subprocess
def test_the_store_imports_its_rooms_when_first_used() -> None:
    """``Store.tickets``, ``.kb``, ``.metrics`` ... import their module on first use."""
    loaded = _loaded(["deskcli.storage.store"])
    rooms = ["attachments", "contacts", "metrics", "sync_state", "tickets", "timeline"]
    imported = sorted(room for room in rooms if f"deskcli.storage.{room}" in loaded)
    assert not imported, f"importing the store imported its rooms {imported}"
