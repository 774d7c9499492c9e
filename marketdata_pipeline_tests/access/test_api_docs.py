"""The API's docs pages work offline: their assets come from the API, a real browser renders them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from marketdata_pipeline.access.api import create_app

from ..conftest import ARTIFACTS, BROWSER_ARGS, CHROMIUM, free_port, marketdata
from .test_api import _wait_for

OFFLINE = [
    "--headless",
    *BROWSER_ARGS,
    # Any host but the API's fails to resolve, so a CDN asset fails even where a network is up.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--virtual-time-budget=20000",  # let scripts fetch /openapi.json and render
]
PAGES = ["/docs", "/redoc"]


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_load_only_assets_the_api_serves(make_project, page):
    client = TestClient(create_app(make_project().config))
    html = client.get(page).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert len(assets) >= 2 and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "cdn" not in html and "https://" not in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed; apt-get install chromium")
@pytest.mark.parametrize("page", PAGES)
def test_a_browser_without_network_renders_every_endpoint(make_project, tmp_path, page):
    project = make_project()
    paths = sorted(TestClient(create_app(project.config)).get("/openapi.json").json()["paths"])
    assert {"/candles", "/indicators", "/series", "/freshness", "/health"} <= set(paths)
    port = free_port()
    server = marketdata("serve", "--port", str(port), cwd=tmp_path, wait=False)
    try:
        url = f"http://127.0.0.1:{port}{page}"
        source = _wait_for(url, server).decode()
        dom = browse(tmp_path, "--dump-dom", url)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"api{page.replace('/', '_')}.png"
        browse(tmp_path, "--window-size=1280,1200", f"--screenshot={shot}", url)
    finally:
        server.terminate()
        server.wait(10)
    for path in paths:  # drawn by the page's scripts: the HTML itself names no endpoint
        assert f">{path}</span>" in dom and path not in source, path
    with Image.open(shot) as image:
        assert image.size == (1280, 1200) and len(image.getcolors(1 << 16) or ()) > 16


def browse(tmp_path: Path, *args: str) -> str:
    """Headless Chromium with a fresh profile and no network beyond 127.0.0.1; its stdout."""
    profile = tmp_path / f"chromium-{len(list(tmp_path.glob('chromium-*')))}"
    run = subprocess.run(
        [CHROMIUM, *OFFLINE, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout
