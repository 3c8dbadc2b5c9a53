"""The operational settings DESIGN.md's "Workers" section demands actually took effect."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from legalops.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_celery_is_configured_for_at_least_once_json_tasks() -> None:
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.result_backend is None
    assert conf.task_ignore_result is True
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_beat_schedules_the_purge() -> None:
    entry = app.conf.beat_schedule["purge-expired-logs"]
    assert entry["task"] == "lookups.purge_logs"
    app.loader.import_default_modules()
    assert "lookups.purge_logs" in app.tasks


def test_lookups_defaults() -> None:
    assert int(os.environ.get("LOOKUPS_RETENTION_DAYS", 30)) == settings.LOOKUPS_RETENTION_DAYS
    assert os.environ.get("LOOKUPS_DEFAULT_REGION", "US") == settings.LOOKUPS_DEFAULT_REGION
    assert settings.APPEND_SLASH is False


@pytest.mark.both_databases
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the main run is on PostgreSQL; the SQLite pass checks WAL")
    from django.db.backends.sqlite3.base import DatabaseWrapper

    # The test database lives in memory; open a file with the same settings instead.
    wrapper = DatabaseWrapper({**settings.DATABASES["default"], "NAME": str(tmp_path / "x.db")})
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
    finally:
        wrapper.close()


def _django(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_flags_in_process_tasks(tmp_path: Path) -> None:
    result = _django(
        "check",
        "--deploy",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
            "CELERY_BROKER_URL": "",
            "LEGALOPS_VAR_DIR": str(tmp_path),
        },
    )
    assert "legalops.W001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _django("check", env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _django(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "x7#kq2!vP9@mZ4&rT6^wL1*eB8%nC3$hJ5(dF0)gY2_sA9+uI4=oK7~lM1-tR6",
            "ALLOWED_HOSTS": "legalops.example",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "LEGALOPS_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ingest_connections_are_bounded_with_a_clear_error() -> None:
    assert (
        int(os.environ.get("LOOKUPS_INGEST_CONNECTIONS", 2)) == settings.LOOKUPS_INGEST_CONNECTIONS
    )
    result = _django("check", env={"DEBUG": "1", "LOOKUPS_INGEST_CONNECTIONS": "17"})
    assert result.returncode != 0
    assert "LOOKUPS_INGEST_CONNECTIONS must be at most 16, got 17" in result.stderr
