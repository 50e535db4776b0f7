#!/usr/bin/env bash
# Install Dovecot's IMAP server from the OS packages for the email intake tests. The tests
# start their own throwaway instance on a loopback port (tests/intake/dovecot.py), so this
# only makes sure the binary is there. Called by .ci/run.
set -euo pipefail
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        dovecot-imapd openssl >&2
fi
