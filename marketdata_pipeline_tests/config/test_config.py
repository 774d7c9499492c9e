"""Config validation: every mistake is one line naming the file, the field and the fix."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from marketdata_pipeline.config import ConfigError, load_config
from marketdata_pipeline.config.exchange_ids import exchange_ids, listed_ids

VALID = """\
exchanges:
  - id: binance
    markets:
      - symbol: BTC/USDT
        timeframes: [1m, 1h]
        start: 2024-01-01
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "marketdata.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_valid_config_lists_series_with_default_lmdb_storage(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert [s.name for s in config.series] == ["binance/btc_usdt/1m", "binance/btc_usdt/1h"]
    assert config.storage_uri.startswith(f"lmdb://{tmp_path}/.data/arcticdb?map_size=")
    assert config.connectors[0].rate_limit is None  # the budget comes from ccxt


def test_environment_variable_names_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETDATA_CONFIG", str(write(tmp_path, VALID)))
    assert load_config().path == tmp_path / "marketdata.yaml"


def test_storage_uri_is_used_unchanged(tmp_path):
    config = load_config(
        write(tmp_path, "storage: s3://s3.amazonaws.com:bucket?aws_auth=true\n" + VALID)
    )
    assert config.storage_uri == "s3://s3.amazonaws.com:bucket?aws_auth=true"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found; create it or set MARKETDATA_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_syntax_error_names_the_line(tmp_path):
    assert ":6: YAML syntax error" in error_of(tmp_path, VALID.replace("[1m, 1h]", "[1m, 1h"))


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        (("id: binance", "id: binanse"), "exchanges[binanse].id: unknown exchange id 'binanse'"),
        (
            ("[1m, 1h]", "[1m, 2h]"),
            "exchanges[binance].markets[BTC/USDT].timeframes: unknown timeframe '2h'; allowed: 1m, 5m",
        ),
        (("2024-01-01", "2024-13-01"), "markets[BTC/USDT].start: invalid date"),
        (("2024-01-01", "yesterday"), "use YYYY-MM-DD"),
        (
            ("symbol: BTC/USDT", "symbol: BTCUSDT"),
            "is not a ccxt unified symbol such as 'BTC/USDT'",
        ),
        (
            ("    markets:", "    pool_size: 0\n    markets:"),
            "exchanges[binance].pool_size: Input should be greater than 0",
        ),
        (
            ("    markets:", "    poolsize: 3\n    markets:"),
            "exchanges[binance].poolsize: unknown field",
        ),
        (
            ("    markets:", "    credentials: {apiKey: sk-live-123}\n    markets:"),
            "must name an environment variable",
        ),
    ],
)
def test_mistakes_get_one_clear_line(tmp_path, mistake, expected):
    assert expected in error_of(tmp_path, VALID.replace(*mistake))


def test_start_in_the_future(tmp_path):
    future = date.today() + timedelta(days=3)
    assert f"start {future} is in the future" in error_of(
        tmp_path, VALID.replace("2024-01-01", str(future))
    )


def test_duplicate_series(tmp_path):
    twice = (
        VALID + "      - symbol: btc/usdt\n        timeframes: [1h]\n        start: 2024-01-01\n"
    )
    assert "binance btc/usdt 1h is configured twice" in error_of(tmp_path, twice)


def test_a_rate_limit_without_a_weight_is_one_line(tmp_path):
    odd = VALID.replace("    markets:", "    rate_limit: {period_seconds: 10}\n    markets:")
    assert "rate_limit.weight" in error_of(tmp_path, odd)


def test_duplicate_exchange(tmp_path):
    twice = VALID + VALID.removeprefix("exchanges:\n")
    assert "exchange 'binance' is configured twice" in error_of(tmp_path, twice)


def test_select_rejects_unknown_filters(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert len(config.select(symbol="BTC/USDT")) == 2
    with pytest.raises(ConfigError, match="unknown timeframe '3h'"):
        config.select(timeframe="3h")
    with pytest.raises(ConfigError, match="no configured series matches symbol=ETH/USDT"):
        config.select(symbol="ETH/USDT")


@pytest.mark.parametrize("cron", ["61 * * * *", "*/5 * * *", "0 0 30 2 *", "0 0 * * * *", "hourly"])
def test_a_schedule_dagster_rejects_is_one_line_where_schedules_run(tmp_path, cron):
    text = VALID.replace(
        "        start: 2024-01-01", f"        start: 2024-01-01\n        schedule: '{cron}'"
    )
    config = load_config(write(tmp_path, text))  # reading stored data does not need the cron
    with pytest.raises(ConfigError) as info:
        config.check_schedules()
    assert str(info.value) == (
        f"{config.path}: exchanges[binance].markets[BTC/USDT].schedule: schedule {cron!r}"
        " is not a cron expression such as '*/5 * * * *'"
    )


@pytest.mark.parametrize("cron", ["*/10 * * * *", "0 9-17 * * MON-FRI", "@hourly", "5 0 L * *"])
def test_a_schedule_dagster_accepts_passes(tmp_path, cron):
    text = VALID.replace(
        "        start: 2024-01-01", f"        start: 2024-01-01\n        schedule: '{cron}'"
    )
    load_config(write(tmp_path, text)).check_schedules()


def test_exchange_ids_are_ccxts_own_list_read_without_importing_it():
    import ccxt

    assert exchange_ids() == frozenset(ccxt.exchanges) and "binance" in exchange_ids()
    assert listed_ids("exchanges = ['a', 'b']\n") == {"a", "b"}
    assert listed_ids("from .x import exchanges\n") is None


def test_a_disabled_market_has_no_series_of_any_kind(tmp_path):
    both = """\
exchanges:
  - id: binance
    markets:
      - {symbol: BTC/USDT, timeframes: [1m], start: 2024-01-01, trades: true, ticker: true}
      - {symbol: ETH/USDT, timeframes: [1h], start: 2024-01-01, trades: true, ticker: true,
         order_book: {depth: 5}, enabled: ENABLED}
"""
    on = load_config(write(tmp_path, both.replace("ENABLED", "true")))
    off = load_config(write(tmp_path, both.replace("ENABLED", "false")))
    assert [s.name for s in on.series] == ["binance/btc_usdt/1m", "binance/eth_usdt/1h"]
    assert [s.name for s in off.series] == ["binance/btc_usdt/1m"]
    assert [s.name for s in off.trade_series] == ["binance/btc_usdt/trades"]
    assert [s.name for s in off.polled_series] == ["binance/btc_usdt/ticker"]
    assert len(on.trade_series) == 2 and len(on.polled_series) == 3


def test_coordination_is_embedded_by_default_and_postgres_by_url(tmp_path):
    from marketdata_pipeline.coordination import coordination_spec

    assert coordination_spec(load_config(write(tmp_path, VALID))) == {
        "data_dir": str(tmp_path / ".data")
    }
    url = "postgresql://md@db.internal:5432/marketdata"
    plain = load_config(write(tmp_path, f"coordination: {url}\n{VALID}"))
    assert coordination_spec(plain) == {"data_dir": str(tmp_path / ".data"), "url": url}
    text = f"coordination:\n  url: {url}\n  password_env: MD_PG_PASSWORD\n{VALID}"
    assert coordination_spec(load_config(write(tmp_path, text)))["password_env"] == "MD_PG_PASSWORD"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("mysql://md@db/x", "is not a postgresql://user@host:5432/db URL"),
        ("postgresql://md:hunter2@db/x", "must not hold the password"),
        ("{url: 'postgresql://md@db/x', password_env: 'hunter 2'}", "must name an environment"),
    ],
)
def test_coordination_mistakes_are_one_line(tmp_path, value, says):
    assert says in error_of(tmp_path, f"coordination: {value}\n{VALID}")


def test_streamed_markets_are_those_with_stream_true(tmp_path):
    config = load_config(
        write(
            tmp_path, VALID.replace("start: 2024-01-01", "start: 2024-01-01\n        stream: true")
        )
    )
    assert config.streamed_markets == {("binance", "BTC/USDT")}
    assert all(config.streamed(s) for s in config.series)
    assert not load_config(write(tmp_path, VALID)).streamed_markets


def test_stream_on_an_exchange_without_websocket_support_is_one_line(tmp_path):
    text = VALID.replace("id: binance", "id: bitflyer").replace(
        "start: 2024-01-01", "start: 2024-01-01\n        stream: true"
    )
    assert (
        "exchanges[bitflyer]: markets[BTC/USDT].stream: ccxt has no WebSocket support for bitflyer;"
        " remove `stream: true`"
    ) in error_of(tmp_path, text)
