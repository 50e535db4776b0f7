"""Channel adapters: PagerDuty, Opsgenie, signed webhook, Slack/Teams chat and SMTP email.

Each adapter turns one queued message into one request on the wire and reports what the
receiver said. None of them retries or records anything: the outbound worker
(``services/outbound.py``) decides when to try again and writes the result. Network
libraries (httpx) are imported inside the adapters, so importing this package is cheap.

May import: ``domain`` and ``secrets``. No services, sync or front end: the services call
the adapters, never the other way round. Enforced by tests/test_layers.py.
"""
