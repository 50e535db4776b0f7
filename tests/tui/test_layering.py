"""The console's own layering: its helpers stay headless, its start path stays short."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.subprocess
def test_session_drafts_and_timer_import_without_textual() -> None:
    """What the TUI asks of the store is a service: testable, and usable without a screen."""
    loaded = loaded_after("import deskcli.tui.session, deskcli.services.drafts, "
                          "deskcli.services.worktimer")
    assert not {m for m in loaded if m.split(".")[0] == "textual"}


@pytest.mark.subprocess
def test_starting_the_app_loads_only_the_queue_screen() -> None:
    """The other screens load when first opened: the cold start is the queue's alone."""
    loaded = loaded_after("import deskcli.tui.app")
    screens = {m for m in loaded if m.startswith("deskcli.tui.screens.")}
    assert screens == {"deskcli.tui.screens.queue"}
    assert "deskcli.services.demo" not in loaded
