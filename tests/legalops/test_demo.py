import pytest
from django.core.management import call_command

from lookups.models import Hold, PurgeRun, QueryLogEntry


@pytest.mark.django_db(transaction=True)  # the demo commits; its job runs on commit
def test_demo_runs_end_to_end(
    capsys: pytest.CaptureFixture[str],
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the demo's embedded default
    call_command("demo", "--no-serve", "--rows", "3000")
    out = capsys.readouterr().out
    assert "first pass: accepted 3,000, duplicates 0, rejected 0" in out
    assert "second pass: accepted 0, duplicates 3,000, rejected 0" in out
    assert out.count(" outgoing ") == 3
    assert "== done" in out
    assert ": received, due " in out
    assert ": preserved; every retained row" in out
    assert "audit chain: intact" in out
    assert "the custodian signs and releases: released" in out
    assert "the agency downloaded it: status delivered" in out
    pdf = next((tmp_path / "demo").glob("LR-*.pdf"))
    assert f"SHA-256: {__import__('hashlib').sha256(pdf.read_bytes()).hexdigest()}" in out
    run = PurgeRun.objects.get()
    assert run.deleted > 0
    assert run.kept_held > 0
    assert QueryLogEntry.objects.count() == 3000 - run.deleted
    assert Hold.objects.get(placed_by="demo").released_at is not None
    assert Hold.objects.filter(placed_by__startswith="LR-").count() == 2
