"""Tell the engineers when a task fails or a publish is blocked.

A log line always; a webhook (`PLANWATCH_WEBHOOK_URL`, JSON POST) and/or an e-mail
(`PLANWATCH_SMTP_HOST`, `PLANWATCH_ALERT_EMAIL`) when configured.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from planwatch.core.errors import ChecksFailed

log = logging.getLogger(__name__)


def notify(subject: str, body: str) -> list[str]:
    """Send `subject`/`body` to every configured channel; returns the channels used."""
    log.error("ALERT %s: %s", subject, body)
    used = ["log"]
    url = os.environ.get("PLANWATCH_WEBHOOK_URL")
    if url:
        data = json.dumps({"subject": subject, "text": body}).encode()
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10):
                used.append("webhook")
        except OSError as exc:
            log.error("webhook %s failed: %s", url, exc)
    host, to = os.environ.get("PLANWATCH_SMTP_HOST"), os.environ.get("PLANWATCH_ALERT_EMAIL")
    if host and to:
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, os.environ.get("PLANWATCH_ALERT_FROM", to), to
        msg.set_content(body)
        try:
            with smtplib.SMTP(host, int(os.environ.get("PLANWATCH_SMTP_PORT", "25")), timeout=10) as smtp:
                smtp.send_message(msg)
            used.append("email")
        except OSError as exc:
            log.error("e-mail to %s via %s failed: %s", to, host, exc)
    return used


def notify_task_failure(context: dict[str, Any]) -> list[str]:
    """Airflow `on_failure_callback`: names the DAG, task, run and the exception."""
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    dag_id = getattr(ti, "dag_id", "plan_monitoring")
    exc = context.get("exception")
    subject = f"planwatch: {dag_id}.{task_id} failed ({context.get('run_id')})"
    # A failed gate reaches Airflow as AirflowFailException wrapping ChecksFailed.
    cause = exc if isinstance(exc, ChecksFailed) else getattr(exc, "__cause__", None)
    if isinstance(cause, ChecksFailed):
        subject = f"planwatch: publish blocked, {len(cause.failed)} blocking check(s) failed ({context.get('run_id')})"
    hint = "Run `python -m planwatch status` to see the last runs and open findings."
    return notify(subject, f"{exc}\n\n{hint}")
