"""Allow ``python -m deskcli`` as well as the ``deskcli`` script."""

from deskcli.cli.main import run

run()
