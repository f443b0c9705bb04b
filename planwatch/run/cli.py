"""`python -m planwatch <command>`: one subcommand per job, heavy imports inside each command.

Exit codes: 0 ok, 1 validation failed / not published, 2 usage or configuration error,
3 transient failure (a locked file: try again).
"""

from __future__ import annotations

import argparse
import os
import logging
import sys
from collections.abc import Callable
from datetime import datetime

from planwatch.core.config import Settings
from planwatch.core.errors import PlanwatchError

log = logging.getLogger("planwatch")


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run every stage for one quarter without Airflow."""
    from planwatch.run.pipeline import run_all
    from planwatch.core.scheduling import quarter_for_run

    quarter = quarter_for_run(None, args.quarter)
    run_id = args.run_id or f"manual__{quarter}__{datetime.now():%Y%m%dT%H%M%S}"
    run_all(quarter, run_id, settings)
    from planwatch.run.summary import print_summary

    print_summary(settings)
    return 0


def _cmd_stage(args: argparse.Namespace, settings: Settings) -> int:
    from planwatch.run.pipeline import run_stage, run_stage_then

    if args.then:
        done = run_stage_then(args.stage, args.then, args.quarter, args.run_id, settings)
    else:
        done = [run_stage(args.stage, args.quarter, args.run_id, settings)]
    for metrics in done:
        print(" ".join(f"{k}={v}" for k, v in metrics.items()))
    if args.then:
        # run_all waits for this process before it publishes: skip the interpreter's teardown, about 1 s
        # with GX loaded (bench/README.md, thirteenth pass). The stages have recorded their results and
        # closed their databases; only the logs are left to flush.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    """Write the simulated demo statistics when raw/statistics holds no real submissions."""
    from planwatch.demo.simulate import ensure_demo_statistics

    if ensure_demo_statistics(settings):
        print(f"raw/statistics holds no submissions: wrote SIMULATED demo statistics to "
              f"{settings.statistics_dir / 'simulated'}")
    return 0


def _cmd_logical_date(args: argparse.Namespace, settings: Settings) -> int:
    """The logical date of the scheduled run that publishes the latest complete quarter."""
    from planwatch.core.periods import last_closed_quarter
    from planwatch.core.scheduling import TIMEZONE, submission_deadline

    now = datetime.now(TIMEZONE)
    quarter = last_closed_quarter(now)
    due = submission_deadline(quarter)
    print(f"{due.isoformat()}T02:00:00+08:00")
    return 0


def _cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from planwatch.run.summary import print_summary

    return print_summary(settings)


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from planwatch.run.summary import print_status

    return print_status(settings, limit=args.limit)


def _cmd_form(args: argparse.Namespace, settings: Settings) -> int:
    """Write the submission form of one region (`form`) or of every region with a plan (`forms`)."""
    from pathlib import Path

    from planwatch.ingest.forms import write_forms
    from planwatch.core.periods import Quarter

    quarter = Quarter.parse(args.quarter)
    out = Path(args.out) if args.out else settings.reports_dir / "forms" / str(quarter)
    paths = write_forms(settings, quarter, out, [args.region] if getattr(args, "region", None) else None)
    for path in paths:
        print(path)
    return 0


def _cmd_remind(args: argparse.Namespace, settings: Settings) -> int:
    """Send the digest of overdue regions now (the report stage sends it after every publish)."""
    from planwatch.serve.submissions import send_overdue_digest

    regions = send_overdue_digest(settings)
    print(f"{regions} region(s) overdue" + ("; digest sent" if regions else ""))
    return 0


def _cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from planwatch.run.pipeline import rollback

    result = rollback(settings, args.to)
    print(f"restored version {result['rolled_back_to']} as {settings.published_db} "
          f"(replaced {result['previous'] or 'an unversioned file'})")
    return 0


def _cmd_evaluation(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from planwatch.serve.evaluation import write_evaluation

    xlsx, csv_path = write_evaluation(settings, args.region, args.plan, args.kind,
                                      Path(args.out) if args.out else None)
    print(f"wrote {xlsx}\nwrote {csv_path}")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace, Settings], int], str]] = {
    "run": (_cmd_run, "run every stage for a quarter without Airflow"),
    "stage": (_cmd_stage, "run one stage"),
    "demo-data": (_cmd_demo_data, "write simulated demo statistics if raw/statistics is empty"),
    "logical-date": (_cmd_logical_date, "print the logical date that publishes the latest closed quarter"),
    "summary": (_cmd_summary, "one-screen summary of the last run and the published warehouse"),
    "status": (_cmd_status, "the last runs, what each published, open data-quality findings"),
    "rollback": (_cmd_rollback, "put back an earlier published warehouse"),
    "remind": (_cmd_remind, "send the digest of regions with overdue figures through the notifier"),
    "form": (_cmd_form, "write the submission form (.xlsx) of one region for a quarter"),
    "forms": (_cmd_form, "write the forms and cover letters of every region with a plan for a quarter"),
    "evaluation": (_cmd_evaluation, "a plan's mid-term or final evaluation table (.xlsx and .csv)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="planwatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == "run":
            p.add_argument("--quarter", help="YYYYQn; default: the last closed quarter")
            p.add_argument("--run-id")
        elif name == "stage":
            from planwatch.core.types import STAGES

            p.add_argument("stage", choices=STAGES)
            p.add_argument("--quarter", required=True)
            p.add_argument("--run-id", required=True)
            p.add_argument("--then", choices=STAGES,
                           help="after the stage, run this one when stdin says `go` (run_all's checks process)")
        elif name == "status":
            p.add_argument("--limit", type=int, default=10)
        elif name in ("form", "forms"):
            if name == "form":
                p.add_argument("--region", required=True, help="6-digit region code")
            p.add_argument("--quarter", required=True, help="YYYYQn")
            p.add_argument("--out", help="folder (default: reports/forms/<quarter>)")
        elif name == "rollback":
            p.add_argument("--to", help="version file name in warehouse/versions (default: the newest)")
        elif name == "evaluation":
            p.add_argument("--region", required=True, help="region code, e.g. 320583")
            p.add_argument("--plan", required=True, help="plan label of raw/reference/plan_periods.csv")
            p.add_argument("--kind", choices=("final", "mid_term"), default="final")
            p.add_argument("--out", help="folder for the files (default: reports/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "run":
        logging.getLogger("planwatch").setLevel(logging.INFO)
    settings = Settings.from_env()
    try:
        return COMMANDS[args.command][0](args, settings)
    except PlanwatchError as exc:
        print(f"planwatch {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
