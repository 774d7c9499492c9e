"""No CLI test reaches a Dagster webserver it did not start (another project's `dagster dev`
on the default port 3000 would otherwise be asked to reload)."""

import pytest

from ..conftest import free_port


@pytest.fixture(autouse=True)
def no_webserver(monkeypatch) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", url)
    return url
