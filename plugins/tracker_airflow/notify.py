"""The failure notifier every Tracker task has (`on_failure_callback` in common.DEFAULT_ARGS).

Always: one logged line naming the DAG, the task, the person (a mapped extract's map index is its person id)
and the error, e.g.

    tracker task failed: dag=google_health_fitness task=extract_load_health person=alice run=manual__…
    error=ReauthRequired: invalid_grant … run `tracker auth google-health --account alice`

Optionally, through the providers already installed, the same line by mail: set `TRACKER_ALERT_EMAIL`
(comma-separated addresses; the SMTP provider's `smtp_default` connection, or `TRACKER_ALERT_SMTP_CONN`).
Apprise is used the same way when its provider is installed and `TRACKER_ALERT_APPRISE_CONN` names a
connection. A notifier that cannot send logs why and never hides the task's own failure.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("tracker_airflow.notify")


def person_of(context: dict[str, Any]) -> str | None:
    """The person a task ran for: a mapped extract's `person` argument, else its rendered map index."""
    task = context.get("task")
    person = (getattr(task, "op_kwargs", None) or {}).get("person")
    if person:
        return str(person)
    ti = context.get("ti") or context.get("task_instance")
    rendered = getattr(ti, "rendered_map_index", None)
    return str(rendered) if rendered else None


def failure_line(context: dict[str, Any]) -> str:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?")
    error = context.get("exception")
    what = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error or "unknown")
    what = " ".join(what.split())  # one line, whatever the message
    person = person_of(context) or "-"
    return (f"tracker task failed: dag={dag_id} task={task_id} person={person} run={context.get('run_id', '?')} "
            f"try={getattr(ti, 'try_number', '?')} error={what}")


def notify_failure(context: dict[str, Any]) -> None:
    line = failure_line(context)
    log.error(line)  # the task's log: what the UI and `dag.test()` show
    for send in (_email, _apprise):
        try:
            send(line, context)
        except Exception as exc:  # noqa: BLE001 - a notifier must never replace the task's own error
            log.warning("failure notifier %s could not send: %s", send.__name__.lstrip("_"), exc)


def _email(line: str, context: dict[str, Any]) -> None:
    to = [a.strip() for a in os.environ.get("TRACKER_ALERT_EMAIL", "").split(",") if a.strip()]
    if not to:
        return
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    SmtpNotifier(to=to, subject=line[:150], html_content=f"<pre>{line}</pre>",
                 smtp_conn_id=os.environ.get("TRACKER_ALERT_SMTP_CONN") or None).notify(context)


def _apprise(line: str, context: dict[str, Any]) -> None:
    conn_id = os.environ.get("TRACKER_ALERT_APPRISE_CONN")
    if not conn_id:
        return
    try:
        from airflow.providers.apprise.notifications.apprise import AppriseNotifier
    except ImportError:
        log.warning("TRACKER_ALERT_APPRISE_CONN is set but apache-airflow-providers-apprise is not installed")
        return
    AppriseNotifier(body=line, title="Tracker task failed", apprise_conn_id=conn_id).notify(context)
