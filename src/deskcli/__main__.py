"""Allow ``python -m deskcli`` as well as the ``deskcli`` script."""

from deskcli.cli.launch import run

run()
