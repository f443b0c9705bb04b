"""Alerts reach a real webhook and a real SMTP server, both listening on 127.0.0.1 in the test."""

from __future__ import annotations

import json
import logging
import sys
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from planwatch.core.errors import ChecksFailed
from planwatch.serve.notify import notify, notify_task_failure


class Webhook:
    """An HTTP server that records every POST and answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"path": self.path, "type": self.headers["Content-Type"],
                                       "json": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/planwatch"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SMTPSink(socketserver.ThreadingTCPServer):
    """Just enough of RFC 5321 for smtplib.send_message: records each message's bytes."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 localhost test SMTP\r\n")
                envelope: dict[str, Any] = {"rcpt": []}
                while line := self.rfile.readline():
                    verb = line.decode().strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250 localhost\r\n")
                    elif verb.startswith("MAIL FROM"):
                        envelope["from"] = line.decode().strip()[10:]
                        self.wfile.write(b"250 OK\r\n")
                    elif verb.startswith("RCPT TO"):
                        envelope["rcpt"].append(line.decode().strip()[8:])
                        self.wfile.write(b"250 OK\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 end with .\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        envelope["data"] = data
                        sink.messages.append(envelope)
                        envelope = {"rcpt": []}
                        self.wfile.write(b"250 OK queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 OK\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    yield sink
    sink.shutdown()
    sink.server_close()


@pytest.fixture(autouse=True)
def no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLANWATCH_WEBHOOK_URL", "PLANWATCH_SMTP_HOST", "PLANWATCH_SMTP_PORT",
                 "PLANWATCH_ALERT_EMAIL", "PLANWATCH_ALERT_FROM"):
        monkeypatch.delenv(name, raising=False)


def test_log_line_always(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="planwatch.serve.notify"):
        assert notify("planwatch: test", "body text") == ["log"]
    assert [r.getMessage() for r in caplog.records] == ["ALERT planwatch: test: body text"]


def test_webhook_gets_subject_and_text(webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWATCH_WEBHOOK_URL", webhook.url)
    assert notify("planwatch: dbt_build failed", "Traceback…\n近况") == ["log", "webhook"]
    assert webhook.received == [{"path": "/hooks/planwatch", "type": "application/json",
                                 "json": {"subject": "planwatch: dbt_build failed", "text": "Traceback…\n近况"}}]


def test_webhook_errors_are_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    failing = Webhook(status=500)
    try:
        monkeypatch.setenv("PLANWATCH_WEBHOOK_URL", failing.url)
        with caplog.at_level(logging.ERROR, logger="planwatch.serve.notify"):
            assert notify("s", "b") == ["log"]
    finally:
        failing.close()
    assert len(failing.received) == 1
    assert any("webhook" in r.getMessage() and "500" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("PLANWATCH_WEBHOOK_URL", failing.url)  # now closed: connection refused
    assert notify("s", "b") == ["log"]


def test_email_through_smtp(smtp: SMTPSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANWATCH_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("PLANWATCH_ALERT_EMAIL", "data-team@example.org")
    monkeypatch.setenv("PLANWATCH_ALERT_FROM", "planwatch@example.org")
    assert notify("planwatch: publish blocked", "3 checks failed") == ["log", "email"]
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope["from"] == "<planwatch@example.org>" and envelope["rcpt"] == ["<data-team@example.org>"]
    mail = message_from_bytes(envelope["data"])
    assert mail["Subject"] == "planwatch: publish blocked" and mail["To"] == "data-team@example.org"
    assert mail.get_payload(decode=True).decode().strip() == "3 checks failed"


def test_airflow_failure_callback_names_task_and_blocked_publish(webhook: Webhook,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWATCH_WEBHOOK_URL", webhook.url)
    ti = SimpleNamespace(task_id="dbt_build", dag_id="plan_monitoring")
    assert notify_task_failure({"ti": ti, "run_id": "scheduled__2025-07-15",
                                "exception": RuntimeError("dbt exited 1")}) == ["log", "webhook"]
    # what the DAG raises for a failed gate: AirflowFailException from ChecksFailed
    gate = ChecksFailed("scheduled__2025-07-15", ["fct_indicator_progress.status_in_closed_set",
                                                  "raw_statistics.region_code_in_catalog"], "/w/c.duckdb")
    wrapped = RuntimeError(str(gate))
    wrapped.__cause__ = gate
    notify_task_failure({"ti": SimpleNamespace(task_id="publish", dag_id="plan_monitoring"),
                         "run_id": "scheduled__2025-07-15", "exception": wrapped})
    first, second = (r["json"] for r in webhook.received)
    assert first["subject"] == "planwatch: plan_monitoring.dbt_build failed (scheduled__2025-07-15)"
    assert first["text"].startswith("dbt exited 1") and "python -m planwatch status" in first["text"]
    assert second["subject"] == ("planwatch: publish blocked, 2 blocking check(s) failed "
                                 "(scheduled__2025-07-15)")
    assert "status_in_closed_set" in second["text"]


def test_overdue_digest_names_regions_and_missing_indicators(webhook: Webhook, smtp: SMTPSink, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture warehouse (as of 2025Q2, deadline 2025-07-15) lacks SOC_ORG_PER_10K of 2025Q2 in its
    five regions: the digest names each of them and the indicator, on the webhook and by e-mail."""
    import duckdb

    from planwatch.build.bi_views import build_bi_views
    from planwatch.core.config import Settings
    from planwatch.serve.submissions import send_overdue_digest

    settings = Settings(home=tmp_path)
    settings.published_db.parent.mkdir(parents=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "warehouse"))
    from bi_fixture import build_fixture_warehouse

    build_fixture_warehouse(settings.published_db, as_of="2025Q2", n_regions=5)
    with duckdb.connect(str(settings.published_db)) as con:
        # 350582 sent the missing figure after all: it drops out of the digest
        con.execute("insert into raw.stat_observations (file_id, file_seq, line_no, region_code, period, period_type, "
                    "indicator_code, breakdown, value, unit, loaded_at) values ('late', 999, 2, '350582', "
                    "'2025Q2', 'quarter', 'SOC_ORG_PER_10K', '', 8.1, '个', timestamp '2025-07-20 10:00:00')")
        con.execute("insert into raw.file_ledger (file_id, file_seq, path, kind, status, loaded_at) values "
                    "('late', 999, 'statistics/350582/late.csv', 'statistics', 'loaded', timestamp '2025-07-20 10:00:00')")
    # the counts per region are a table (bi.submission_counts): the build that follows a load makes them
    build_bi_views(settings.published_db, Path(__file__).resolve().parents[3] / "dbt", tmp_path / "dbt")
    monkeypatch.setenv("PLANWATCH_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("PLANWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANWATCH_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("PLANWATCH_ALERT_EMAIL", "data-team@example.org")
    assert send_overdue_digest(settings) == 4
    (hook,) = webhook.received
    assert hook["json"]["subject"] == "planwatch: 4 region(s) overdue for 2025Q2"
    lines = hook["json"]["text"].splitlines()
    assert lines[0].startswith("2025Q2: 4 region(s) have not sent every figure by the deadline 2025-07-15")
    named = [line for line in lines if line[:6].isdigit()]
    assert sorted(line.split()[0] for line in named) == ["320583", "321200", "330700", "520300"]
    assert all(line.endswith("1 of 8 figures overdue (逾期 1 项): SOC_ORG_PER_10K") for line in named), named
    (mail,) = smtp.messages
    body = message_from_bytes(mail["data"]).get_payload(decode=True).decode()
    assert "350582" not in body and "320583 昆山市" in body
