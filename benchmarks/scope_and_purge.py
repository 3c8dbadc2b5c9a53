# ruff: noqa: E402, E501 (Django is set up before the app imports; report lines are long)
"""Scope-query latency and the purge of one expired day, on the database in
DATABASE_URL (already loaded: see docs/benchmarks.md). HEAVY=1 adds the two busiest
accounts to the identifiers; PURGE=1 also times the purge (rolled back).
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")
import django

django.setup()
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db import transaction

from lookups.holds import hold_place
from lookups.models import QueryLogEntry
from lookups.retention import logs_purge
from lookups.selectors import count_in_scope, rows_in_scope

activity = Counter(QueryLogEntry.objects.values_list("source", flat=True).iterator())
ranked = [h for h, _ in activity.most_common()]
n = len(ranked)
ids = (
    ranked[:2] + [ranked[n * k // 10] for k in range(1, 9)]
    if os.environ.get("HEAVY")
    else [ranked[n * k // 11] for k in range(1, 11)]
)
end = datetime(2026, 12, 1, tzinfo=UTC)
scope = dict(
    identifiers=ids,
    date_from=end - timedelta(days=30),
    date_to=end - timedelta(seconds=1),
    direction="both",
)
firsts, alls = [], []
for _ in range(6):
    t = time.perf_counter()
    it = rows_in_scope(**scope)
    next(it)
    t1 = time.perf_counter()
    rows = 1 + sum(1 for _ in it)
    t2 = time.perf_counter()
    firsts.append((t1 - t) * 1000)
    alls.append((t2 - t) * 1000)
t = time.perf_counter()
c = count_in_scope(**scope)
tc = (time.perf_counter() - t) * 1000
print(
    f"scope 10 ids x 30 days over {QueryLogEntry.objects.count()} rows: rows={rows} count={c} first_row_ms={statistics.median(firsts[1:]):.1f} all_rows_ms={statistics.median(alls[1:]):.1f} count_ms={tc:.1f}"
)
print("identifiers: 2 heaviest + 8 at deciles of activity:", [activity[i] for i in ids])
if not os.environ.get("PURGE"):
    sys.exit(0)
now = datetime(2026, 12, 2, tzinfo=UTC)
day = QueryLogEntry.objects.filter(occurred_at__lt=now - timedelta(days=30)).count()
with transaction.atomic():
    sid = transaction.savepoint()
    t = time.perf_counter()
    run = logs_purge(now=now)
    d1 = time.perf_counter() - t
    transaction.savepoint_rollback(sid)
with transaction.atomic():
    sid = transaction.savepoint()
    hold_place(
        identifiers=ranked[:10],
        date_from=datetime(2026, 11, 1, tzinfo=UTC),
        date_to=datetime(2026, 11, 2, tzinfo=UTC),
        reason="bench",
        placed_by="bench",
    )
    t = time.perf_counter()
    run2 = logs_purge(now=now)
    d2 = time.perf_counter() - t
    transaction.savepoint_rollback(sid)
print(
    f"purge one expired day ({day} rows): no holds deleted={run.deleted} in {d1:.2f}s; with holds on 10 heaviest: deleted={run2.deleted} kept={run2.kept_held} in {d2:.2f}s"
)
