"""Unsaved form input, kept on disk so nothing a technician types is lost.

A draft is a small JSON document per ticket (or ``intake`` for a ticket not yet opened)
under ``<data dir>/drafts``. Forms write through on every change, so leaving a step,
closing the app or a crash mid-call all keep what was typed. A draft is dropped once the
step it belongs to is saved to the store.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class DraftStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / f"{_SAFE.sub('_', key)}.json"

    def load(self, key: str) -> dict[str, Any]:
        """The draft for ``key``; an unreadable file counts as no draft rather than a crash."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, key: str, data: Mapping[str, Any]) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a draft."""
        cleaned = _prune(data)
        path = self._path(key)
        if not cleaned:
            self.discard(key)
            return
        from deskcli.paths import private_dir, private_file

        private_dir(self.folder)  # a draft holds a caller's name and words: 0700 / 0600
        temp = private_file(path.with_suffix(".tmp"))
        temp.write_text(json.dumps(cleaned, ensure_ascii=False, sort_keys=True, indent=1),
                        encoding="utf-8")
        os.replace(temp, path)

    def discard(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    # --- one ticket's step forms ------------------------------------------------------

    def step(self, key: str, step: str) -> dict[str, Any]:
        steps = self.load(key).get("steps", {})
        values = steps.get(step, {}) if isinstance(steps, dict) else {}
        return values if isinstance(values, dict) else {}

    def put_step(self, key: str, step: str, values: Mapping[str, Any]) -> None:
        data = self.load(key)
        steps = data.setdefault("steps", {})
        steps[step] = dict(values)
        self.save(key, data)

    def drop_step(self, key: str, step: str) -> None:
        data = self.load(key)
        data.get("steps", {}).pop(step, None)
        self.save(key, data)

    def put(self, key: str, name: str, value: Any) -> None:
        """A single named entry (the note being written, the intake page)."""
        data = self.load(key)
        data[name] = value
        self.save(key, data)


def _prune(value: Any) -> Any:
    """Drop empty strings, lists and tables, so an untouched form leaves no file behind."""
    if isinstance(value, Mapping):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (_prune(x) for x in value) if v not in (None, "", [], {})]
    return value
