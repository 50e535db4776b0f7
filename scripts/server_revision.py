"""Write a new server schema revision from the difference between the models and the
newest revision (Alembic autogenerate), without an alembic.ini.

    python scripts/server_revision.py "technicians get a team"

It builds a scratch SQLite database at the newest revision, compares it with
``src/deskcli/server/models.py`` and writes ``src/deskcli/server/migrations/versions/
NNNN_<message>.py`` with the next number. Read what it wrote and finish it by hand:
autogenerate does not see renames (it writes a drop and an add), data to move or fill in,
or a NOT NULL column that existing rows need a value for (give it a server_default).
docs/server.md ("Changing the server's tables") says the whole routine.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from deskcli.server import revisions
from deskcli.server.db import make_engine


def main() -> int:
    parser = argparse.ArgumentParser(description="Write a new server schema revision.")
    parser.add_argument("message", help="what the revision changes, in a few words")
    parser.add_argument("--empty", action="store_true",
                        help="an empty revision (for a data-only change), no comparison")
    args = parser.parse_args()
    number = int(revisions.head()) + 1
    rev_id = f"{number:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")[:40]
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'head.db'}"
        engine = make_engine(url)
        revisions.ensure(engine)
        engine.dispose()
        config = Config()
        config.set_main_option("script_location", str(revisions.SCRIPT_LOCATION))
        config.set_main_option("sqlalchemy.url", url)
        config.set_main_option("file_template", f"%%(rev)s_{slug}")
        script = command.revision(config, args.message, autogenerate=not args.empty,
                                  rev_id=rev_id)
    written = script[0] if isinstance(script, list) else script
    if written is not None:
        print(f"wrote {written.path}: read it, finish it, then run "
              "pytest tests/sync/test_server_revisions.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
