"""Concurrent writers queue on the anchor row: one chain, seq 1..n, no fork."""

import threading

import pytest
from django.db import connection, transaction

from legalops.audit.models import AuditAnchor, AuditEvent
from legalops.audit.services import audit_record
from legalops.audit.verify import audit_verify

THREADS = 8
PER_THREAD = 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                # Each append in its own transaction, as a request would make it.
                with transaction.atomic():
                    audit_record(
                        actor=None,
                        action="request.submitted",
                        object_type="cases.legalrequest",
                        object_id=f"W{worker}-{i}",
                        details={"worker": worker, "i": i},
                    )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    total = THREADS * PER_THREAD
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    # Every write landed exactly once, whichever thread made it.
    assert AuditEvent.objects.values("object_id").distinct().count() == total
    assert AuditAnchor.objects.get().seq == total
    result = audit_verify()
    assert (result.ok, result.checked) == (True, total), result.problem
