"""The failure notifier: one logged line naming DAG, task, person and error; the same line by mail through the
installed SMTP provider to a real SMTP server on 127.0.0.1; a mail server that is down never raises."""

from __future__ import annotations

import email
import json
import threading
from types import SimpleNamespace

import pytest
from support import free_port

pytestmark = pytest.mark.integration


@pytest.fixture()
def smtp_server():
    """A real SMTP server (the stdlib's, Python 3.11) collecting what it receives."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import asyncore
        import smtpd

    received: list[tuple[list[str], str]] = []

    class Collect(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            received.append((rcpttos, data.decode() if isinstance(data, bytes) else data))

    port = free_port()
    server = Collect(("127.0.0.1", port), None)
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)
    thread.start()
    yield port, received
    server.close()
    thread.join(timeout=5)


def failed_context(error: BaseException) -> dict:
    ti = SimpleNamespace(dag_id="google_health_fitness", task_id="extract_load_health", try_number=1,
                         rendered_map_index="alice", map_index=0)
    return {"ti": ti, "task_instance": ti, "task": SimpleNamespace(task_id="extract_load_health",
                                                                   op_kwargs={"person": "alice"}),
            "exception": error, "run_id": "manual__2026-10-13"}


def logged(capfd, caplog) -> list[str]:
    """The notifier's lines: printed by Airflow's structlog once it configured logging, else in stdlib logging."""
    out = [ln for ln in capfd.readouterr().out.splitlines() if "[tracker_airflow.notify]" in ln]
    return out + [r.getMessage() for r in caplog.records if r.name == "tracker_airflow.notify"]


def test_failure_line_and_mail(smtp_server, monkeypatch, capfd, caplog):
    import airflow  # noqa: F401 - initialising Airflow puts the plugins folder (tracker_airflow) on sys.path
    from tracker_airflow.notify import notify_failure

    port, received = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_TRACKER_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "tracker@localhost"}}))
    monkeypatch.setenv("TRACKER_ALERT_SMTP_CONN", "tracker_alerts")
    monkeypatch.setenv("TRACKER_ALERT_EMAIL", "me@localhost, study@localhost")
    # WHEN a person's extract fails with a multi-line message
    capfd.readouterr()
    notify_failure(failed_context(RuntimeError("invalid_grant: revoked\nrun `tracker auth google-health`")))
    # THEN one line names the DAG, task, person and error
    [line] = logged(capfd, caplog)
    assert ("tracker task failed: dag=google_health_fitness task=extract_load_health person=alice "
            "run=manual__2026-10-13 try=1 error=RuntimeError: invalid_grant: revoked run `tracker auth "
            "google-health`") in line, line
    # AND the same line reached both addresses through the SMTP provider
    [(to, data)] = received
    assert sorted(to) == ["me@localhost", "study@localhost"]
    body = "".join(part.get_payload(decode=True).decode() for part in email.message_from_string(data).walk()
                   if not part.is_multipart())
    assert "person=alice" in body and "invalid_grant" in body, body


def test_an_unreachable_mail_server_never_raises(monkeypatch, capfd, caplog):
    import airflow  # noqa: F401
    from tracker_airflow.notify import notify_failure

    monkeypatch.setenv("AIRFLOW_CONN_TRACKER_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": free_port(),
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "tracker@localhost", "timeout": 2}}))
    monkeypatch.setenv("TRACKER_ALERT_SMTP_CONN", "tracker_alerts")
    monkeypatch.setenv("TRACKER_ALERT_EMAIL", "me@localhost")
    capfd.readouterr()
    notify_failure(failed_context(ValueError("boom")))   # THEN: no exception
    messages = logged(capfd, caplog)
    assert any("tracker task failed:" in m and "error=ValueError: boom" in m for m in messages), messages
    assert any("failure notifier email could not send" in m for m in messages), messages
