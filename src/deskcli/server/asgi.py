"""ASGI entry point for running several server workers: ``uvicorn --factory``.

``deskcli serve --workers N`` uses it; a process manager can too. The database URL comes
from ``DESKCLI_SERVER_DATABASE_URL`` because worker processes are started fresh.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from deskcli.server.app import create_app


def create() -> FastAPI:
    url = os.environ.get("DESKCLI_SERVER_DATABASE_URL")
    if not url:
        raise RuntimeError("set DESKCLI_SERVER_DATABASE_URL to the server database URL")
    return create_app(url)
