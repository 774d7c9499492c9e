import asyncio
from pathlib import Path

import ccxt
import ccxt.async_support as accxt
import ccxt.pro

from marketdata_pipeline.config import load_config
from marketdata_pipeline.simulator import Simulator, ccxt_config, config_snippet

from .conftest import make_exchange

ROOT = Path(__file__).resolve().parents[2]


def test_every_ccxt_api_url_points_at_the_simulator(sim: Simulator) -> None:
    ex = ccxt.pro.binance(ccxt_config(sim.url))
    rest = {k: v for k, v in ex.urls["api"].items() if k != "ws"}
    assert {k: v for k, v in rest.items() if not v.startswith(sim.url)} == {}
    assert ex.urls["api"]["public"] == f"{sim.url}/api/v3"
    ws = dict(ex.urls["api"]["ws"])
    ws_urls = [*ws.pop("ws-api").values(), *ws.values()]
    ws_base = sim.url.replace("http://", "ws://")
    assert [url for url in ws_urls if not url.startswith(ws_base)] == []
    assert ex.urls["api"]["ws"]["spot"] == sim.ws_url == f"{ws_base}/ws"


def test_sync_load_markets_only_calls_spot_exchange_info(sim: Simulator) -> None:
    ex = ccxt.binance(ccxt_config(sim.url))  # default settings, rate limiting on
    markets = ex.load_markets()
    assert set(markets) == set(sim.symbols)
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"] and btc["type"] == "spot" and btc["id"] == "BTCUSDT"
    assert btc["precision"]["price"] == 0.01
    assert btc["limits"]["cost"]["min"] == 5.0
    assert sim.stats()["requests_by_path"] == {"/api/v3/exchangeInfo": 1}


def test_async_load_markets_and_fetch_ohlcv(sim: Simulator) -> None:
    async def run() -> list[list[float]]:
        ex = accxt.binance(ccxt_config(sim.url))
        try:
            await ex.load_markets()
            return await ex.fetch_ohlcv("ETH/USDT", "1h", limit=5)
        finally:
            await ex.close()

    candles = asyncio.run(run())
    assert len(candles) == 5
    sync = make_exchange(sim.url).fetch_ohlcv("ETH/USDT", "1h", limit=5)
    assert candles == sync


def test_config_snippet_is_a_valid_project_config(sim: Simulator, tmp_path) -> None:
    path = tmp_path / "marketdata.yaml"
    path.write_text(config_snippet(sim.url))
    (connector,) = load_config(path).connectors
    assert connector.id == "binance"
    assert connector.ccxt == ccxt_config(sim.url)


def test_okx_config_snippet_is_a_valid_project_config(okx_sim: Simulator, tmp_path) -> None:
    path = tmp_path / "marketdata.yaml"
    path.write_text(config_snippet(okx_sim.url, "okx"))
    (connector,) = load_config(path).connectors
    assert connector.id == "okx"
    assert connector.ccxt == ccxt_config(okx_sim.url, "okx")
    assert connector.ccxt["urls"]["api"] == {"rest": okx_sim.url}


def test_the_demo_connector_points_rest_and_streams_at_the_demo_simulator() -> None:
    (connector,) = load_config(ROOT / "marketdata.demo.yaml").connectors
    assert connector.ccxt["urls"] == ccxt_config("http://127.0.0.1:8765")["urls"]
