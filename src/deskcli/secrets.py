"""Secrets (passwords, API keys) for things deskcli connects to: environment, then keyring.

One lookup for every kind of secret, so the notification channels and the intake
mailboxes behave the same: the environment variable first (scripts, CI, containers), then
the OS keyring. A secret is never read from, or written to, a file; the error for a missing
one says both ways to provide it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from deskcli.domain.errors import InvalidInput


def lookup_secret(*, variable: str, service: str, account: str, what: str,
                  environ: Mapping[str, str] | None = None) -> str:
    """The secret from ``variable`` or the keyring entry ``service``/``account``.

    ``what`` names whose secret it is in the error ("notify channel 'mail' needs its
    password secret").
    """
    env = os.environ if environ is None else environ
    value = env.get(variable)
    if value:
        return value
    try:
        import keyring

        value = keyring.get_password(service, account)
    except Exception:  # no keyring backend at all: same advice as a missing entry
        value = None
    if not value:
        raise InvalidInput(f"{what}: set {variable}, or store it with: keyring set "
                           f"{service} {account}")
    return value
