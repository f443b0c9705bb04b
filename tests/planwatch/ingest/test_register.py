"""register_files: the ledger holds each distinct file once, in path order, and nothing from outside raw/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.ingest.register import register_files
from planwatch.core.types import RunContext

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "statistics"
RUN = RunContext("test", Quarter(2025, 4))


def _home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home")
    (settings.statistics_dir / "320583").mkdir(parents=True)
    settings.plans_dir.mkdir(parents=True)
    return settings


def _ledger(settings: Settings) -> list[tuple[str, int, str, str, str]]:
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        return con.execute("select file_id, file_seq, path, kind, status from raw.file_ledger order by file_seq").fetchall()
    finally:
        con.close()


def test_new_files_are_registered_in_path_order_and_known_files_change_nothing(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    stats = settings.statistics_dir / "320583"
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", stats / "b.csv")
    shutil.copy(FIXTURES / "revision_320583_2023Q2.csv", stats / "b_revised.csv")
    (settings.plans_dir / "新规划.txt").write_text("十四五规划", encoding="utf-8")
    (stats / "notes.md").write_text("not a submission")
    (stats / "~$b.xlsx").write_bytes(b"excel lock file")

    assert register_files(settings, RUN) == {"files_seen": 3, "files_new": 3, "files_known": 0, "files_outside_raw": 0}
    rows = _ledger(settings)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (1, "plans/新规划.txt", "plan_document", "registered"),
        (2, "statistics/320583/b.csv", "statistics", "registered"),
        (3, "statistics/320583/b_revised.csv", "statistics", "registered"),
    ]
    assert len(rows[1][0]) == 64

    assert register_files(settings, RUN) == {"files_seen": 3, "files_new": 0, "files_known": 3, "files_outside_raw": 0}
    assert _ledger(settings) == rows


def test_same_bytes_at_two_paths_are_one_ledger_row(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", settings.statistics_dir / "320583" / "a.csv")
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", settings.statistics_dir / "copy.csv")
    metrics = register_files(settings, RUN)
    assert (metrics["files_seen"], metrics["files_new"], metrics["files_known"]) == (2, 1, 1)
    assert [r[2] for r in _ledger(settings)] == ["statistics/320583/a.csv"]


def test_changed_bytes_at_the_same_path_are_a_new_later_file(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    path = settings.statistics_dir / "320583" / "2023Q2.csv"
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", path)
    register_files(settings, RUN)
    shutil.copy(FIXTURES / "revision_320583_2023Q2.csv", path)
    assert register_files(settings, RUN)["files_new"] == 1
    rows = _ledger(settings)
    assert [(r[1], r[2]) for r in rows] == [(1, "statistics/320583/2023Q2.csv"), (2, "statistics/320583/2023Q2.csv")]
    assert rows[0][0] != rows[1][0]


def test_symlinks_resolving_outside_raw_are_refused(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", outside / "secret.csv")
    (settings.statistics_dir / "linked.csv").symlink_to(outside / "secret.csv")
    (settings.statistics_dir / "linked_dir").symlink_to(outside, target_is_directory=True)
    # A symlink that stays inside raw/ is fine.
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", settings.statistics_dir / "320583" / "real.csv")
    (settings.statistics_dir / "alias.csv").symlink_to(settings.statistics_dir / "320583" / "real.csv")

    metrics = register_files(settings, RUN)
    assert metrics["files_outside_raw"] == 2
    assert metrics["files_new"] == 1
    assert [r[2] for r in _ledger(settings)] == ["statistics/320583/real.csv"]


def test_reference_folders_of_simulated_sets_are_not_submissions(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    ref = settings.statistics_dir / "simulated" / "_reference" / "plan_indicators"
    ref.mkdir(parents=True)
    (ref.parent / "regions_simulated.csv").write_text("region_code\n110121\n", encoding="utf-8")
    (ref / "simulated_counties_14th.csv").write_text("region_code\n110121\n", encoding="utf-8")
    assert register_files(settings, RUN)["files_seen"] == 0


def test_a_file_is_hashed_again_only_when_its_size_times_or_inode_changed(tmp_path: Path, monkeypatch) -> None:
    """raw.file_hashes keeps each path's sha256 with its size, mtime, ctime and inode: an unchanged file is
    not read again, and a file rewritten in place, even with its size and mtime put back, is."""
    from planwatch.ingest import register

    settings = _home(tmp_path)
    a, b = settings.statistics_dir / "320583" / "a.csv", settings.statistics_dir / "320583" / "b.csv"
    shutil.copy(FIXTURES / "valid_320583_2023Q2.csv", a)
    shutil.copy(FIXTURES / "revision_320583_2023Q2.csv", b)
    read: list[str] = []
    real = register.sha256_file
    monkeypatch.setattr(register, "sha256_file", lambda path: read.append(path.name) or real(path))

    register_files(settings, RUN)
    assert sorted(read) == ["a.csv", "b.csv"]
    read.clear()
    assert register_files(settings, RUN)["files_known"] == 2 and read == []

    # b rewritten with a's bytes, its size and mtime put back as they were: its ctime moved, so it is read
    stat = b.stat()
    b.write_bytes(a.read_bytes()[:stat.st_size].ljust(stat.st_size, b"\n"))
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert b.stat().st_size == stat.st_size and b.stat().st_mtime_ns == stat.st_mtime_ns
    metrics = register_files(settings, RUN)
    assert read == ["b.csv"] and metrics["files_new"] == 1
    rows = _ledger(settings)
    assert rows[-1][0] == register.sha256_file(b) and rows[-1][2] == "statistics/320583/b.csv"

    # a renamed: a path not seen before is read; the old path's record goes
    read.clear()
    a.rename(a.with_name("a2.csv"))
    assert register_files(settings, RUN)["files_new"] == 0 and read == ["a2.csv"]
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        paths = [r[0] for r in con.execute("select path from raw.file_hashes order by path").fetchall()]
    finally:
        con.close()
    assert paths == ["statistics/320583/a2.csv", "statistics/320583/b.csv"]
