"""Where the technician's token lives: the OS keyring, or an environment variable.

Never a file. ``DESKCLI_SERVER`` and ``DESKCLI_TOKEN`` let scripts and CI sync without a
keyring; otherwise ``deskcli login`` stores the token in the keyring and the store keeps
only the (non-secret) server URL and handle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from deskcli.domain.errors import InvalidInput, Refused

SERVICE = "deskcli"


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str
    source: str  # "environment" or "keyring"


def _account(server: str, handle: str) -> str:
    return f"{handle}@{server.rstrip('/')}"


def normalise_url(url: str) -> str:
    text = url.strip().rstrip("/")
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise InvalidInput(f"{url!r} is not a server URL: use http://HOST:PORT or "
                           "https://HOST", field="server")
    return text


def _keyring_problem(error: Exception) -> Refused:
    return Refused(
        f"no usable OS keyring to keep the token ({type(error).__name__}); set DESKCLI_SERVER "
        "and DESKCLI_TOKEN in the environment instead (deskcli never writes tokens to files)")


def save_token(server: str, handle: str, token: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, _account(server, handle), token)
    except (KeyringError, RuntimeError) as error:
        raise _keyring_problem(error) from None


def delete_token(server: str, handle: str) -> None:
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, _account(server, handle))
    except PasswordDeleteError:
        pass
    except (KeyringError, RuntimeError) as error:
        raise _keyring_problem(error) from None


def load(server: str | None, handle: str | None,
         environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Environment first (scripts, CI), then the keyring entry saved by ``deskcli login``."""
    env = os.environ if environ is None else environ
    env_server, env_token = env.get("DESKCLI_SERVER"), env.get("DESKCLI_TOKEN")
    if env_token and (env_server or server):
        return Credentials(normalise_url(env_server or server or ""), env_token, "environment")
    if not (server and handle):
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        token = keyring.get_password(SERVICE, _account(server, handle))
    except (KeyringError, RuntimeError) as error:
        raise _keyring_problem(error) from None
    return Credentials(server, token, "keyring") if token else None
