"""Both coordination backends, each on a clean slate: embedded in a temporary folder, and
Postgres on a fresh database of the session's server."""

import pytest

from marketdata_pipeline.coordination import coordination_from, embedded


def spec_of(kind: str, tmp_path, request) -> dict:
    if kind == "embedded":
        return embedded(tmp_path / "data")
    return {"data_dir": str(tmp_path / "data"), "url": request.getfixturevalue("pg_url")}


@pytest.fixture(params=["embedded", "postgres"])
def spec(request, tmp_path) -> dict:
    """A backend's spec, for processes of their own."""
    return spec_of(request.param, tmp_path, request)


@pytest.fixture
def backend(spec):
    return coordination_from(spec)
