"""Fixtures for the email intake tests: a real Dovecot on a loopback port."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from intake.dovecot import SKIP_REASON, Dovecot


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh IMAP server with one user and an empty INBOX; skipped without dovecot."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    server = Dovecot().start()
    yield server
    server.cleanup()


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    """The same, also listening for IMAPS with a self-signed certificate (``server.cert``)."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test certificate)")
    server = Dovecot(tls=True).start()
    yield server
    server.cleanup()
