import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from tests.cases.requests import court_order
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_intake_is_throttled_in_the_shared_cache(cast: Cast, monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    # A cache every process sees (database or Redis), never per-process memory.
    assert "locmem" not in settings.CACHES["default"]["BACKEND"]
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"intake": "2/min"})
    cache.clear()
    client = cast.officer_a.client()
    codes = [
        client.post("/api/v1/requests/", court_order(reference=f"T-{i}"), format="json").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    refused = client.post("/api/v1/requests/", court_order(reference="T-9"), format="json")
    assert refused.json()["detail"].startswith("Request was throttled")
    assert client.get("/api/v1/requests/").status_code == 200  # reading is not throttled
    other = cast.officer_b.client().post("/api/v1/requests/", court_order(), format="json")
    assert other.status_code == 201  # the limit is per account
