"""Editing the config in place: comments and layout kept, every edit validated by the loader
before it is written, written atomically, serialized by a lock, and a no-op when done already."""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import date
from pathlib import Path

import pytest

from marketdata_pipeline.config import ConfigError, load_config
from marketdata_pipeline.config.changes import (
    MarketRequest,
    add_connector,
    add_market,
    remove_market,
    set_connector_enabled,
    set_market_enabled,
)
from marketdata_pipeline.config.edit import dump, edit_config, round_trip

ROOT = Path(__file__).parents[2]

COMMENTED = """\
# Collect two markets from binance.
exchanges:
  - id: binance   # the main one
    pool_size: 2
    markets:
      # Bitcoin first
      - symbol: BTC/USDT
        timeframes: [1m, 1h]   # the busy ones
        start: 2024-01-01
      # then Ether
      - symbol: ETH/USDT
        timeframes:
          - 1h
        start: 2024-01-01  # same day
# kept at the end
"""

# Each edit in turn, as the lines it replaces and their replacement: the whole file is
# compared after every edit.
STEPS = [
    (
        lambda d: add_market(d, "binance", MarketRequest("SOL/USDT", ["4h"], date(2024, 2, 1))),
        "# kept at the end\n",
        "      - symbol: SOL/USDT\n        timeframes:\n          - 4h\n"
        "        start: 2024-02-01\n# kept at the end\n",
    ),
    (
        lambda d: add_market(d, "binance", MarketRequest("eth/usdt", ["1h", "1d"], ticker=True)),
        "          - 1h\n        start: 2024-01-01  # same day\n",
        "          - 1h\n          - 1d\n        start: 2024-01-01  # same day\n"
        "        ticker: true\n",
    ),
    (
        lambda d: set_market_enabled(d, "binance", "BTC/USDT", False),
        "      - symbol: BTC/USDT\n",
        "      - symbol: BTC/USDT\n        enabled: false\n",
    ),
    (
        lambda d: remove_market(d, "binance", "BTC/USDT"),
        "      # Bitcoin first\n      - symbol: BTC/USDT\n        enabled: false\n"
        "        timeframes: [1m, 1h]   # the busy ones\n        start: 2024-01-01\n",
        "",
    ),
    (
        lambda d: add_connector(d, "okx"),
        "# kept at the end\n",
        "  - id: okx\n# kept at the end\n",
    ),
    (
        lambda d: set_connector_enabled(d, "binance", False),
        "    pool_size: 2\n",
        "    enabled: false\n    pool_size: 2\n",
    ),
    (
        lambda d: remove_market(d, "binance", "ETH/USDT"),
        "      # then Ether\n      - symbol: ETH/USDT\n        timeframes:\n          - 1h\n"
        "          - 1d\n        start: 2024-01-01  # same day\n        ticker: true\n",
        "",
    ),
    (
        lambda d: remove_market(d, "binance", "SOL/USDT"),
        "    markets:\n      - symbol: SOL/USDT\n        timeframes:\n          - 4h\n"
        "        start: 2024-02-01\n",
        "",
    ),
]

FINAL = """\
# Collect two markets from binance.
exchanges:
  - id: binance   # the main one
    enabled: false
    pool_size: 2
  - id: okx
# kept at the end
"""


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "marketdata.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["marketdata.yaml", "marketdata.demo.yaml"])
def test_the_shipped_configs_are_written_back_byte_for_byte(name):
    text = (ROOT / name).read_text()
    yaml = round_trip(text)
    assert dump(yaml, yaml.load(text)) == text


def test_each_edit_keeps_the_comments_beside_what_they_describe(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    for change, old, new in STEPS:
        before = path.read_text()
        assert before.count(old) == 1
        assert edit_config(path, change).changed
        assert path.read_text() == before.replace(old, new)
    assert path.read_text() == FINAL


def test_the_full_file_after_adding_a_market(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    edit = edit_config(path, STEPS[0][0])
    assert (edit.changed, edit.message) == (True, "added market binance SOL/USDT")
    assert path.read_text() == COMMENTED.replace(
        "# kept at the end\n",
        "      - symbol: SOL/USDT\n        timeframes:\n          - 4h\n"
        "        start: 2024-02-01\n# kept at the end\n",
    )
    assert [s.name for s in edit.config.series][-1] == "binance/sol_usdt/4h"


def test_a_new_market_follows_its_neighbours_style(tmp_path):
    path = config_file(tmp_path, (ROOT / "marketdata.demo.yaml").read_text())
    edit_config(
        path,
        lambda d: add_market(d, "binance", MarketRequest("XRP/USDT", ["1d"], date(2024, 3, 1))),
    )
    assert path.read_text().endswith(
        "    - 4h\n    - 1w\n    start: '2026-01-01'\n"
        "  - symbol: XRP/USDT\n    timeframes:\n    - 1d\n    start: '2024-03-01'\n"
    )
    path = config_file(tmp_path, (ROOT / "marketdata.yaml").read_text())
    edit_config(
        path,
        lambda d: add_market(
            d, "binance", MarketRequest("XRP/USDT", ["1d"], date(2024, 3, 1), order_book_depth=5)
        ),
    )
    assert path.read_text().endswith(
        "      - symbol: XRP/USDT\n        timeframes: [1d]\n        start: 2024-03-01\n"
        "        order_book: {depth: 5}\n"
    )


def test_a_rejected_edit_leaves_the_file_byte_identical(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    before = os.stat(path)
    with pytest.raises(ConfigError) as info:
        edit_config(
            path,
            lambda d: add_market(d, "binance", MarketRequest("SOL/USDT", ["2h"], date(2024, 1, 1))),
        )
    assert str(info.value) == (
        f"{path}: exchanges[binance].markets[SOL/USDT].timeframes: unknown timeframe '2h';"
        " allowed: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"
    )
    after = os.stat(path)
    assert path.read_text() == COMMENTED
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".marketdata.yaml.lock",
        "marketdata.yaml",
    ]


def test_a_change_that_finds_nothing_to_do_does_not_write(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    before = os.stat(path)
    edit = edit_config(path, lambda d: add_market(d, "binance", MarketRequest("btc/usdt", ["1h"])))
    assert (edit.changed, edit.message) == (
        False,
        "market binance BTC/USDT already exists; nothing changed",
    )
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_a_check_can_refuse_the_validated_result(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    seen = []

    def refuse(config):
        seen.append([s.name for s in config.series])
        raise ConfigError("no")

    with pytest.raises(ConfigError, match=r"^no$"):
        edit_config(path, lambda d: add_connector(d, "okx"), check=refuse)
    assert path.read_text() == COMMENTED
    assert seen == [["binance/btc_usdt/1m", "binance/btc_usdt/1h", "binance/eth_usdt/1h"]]


def test_the_file_is_replaced_whole_with_its_mode_kept(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    path.chmod(0o640)
    inode = os.stat(path).st_ino
    edit_config(path, lambda d: add_connector(d, "okx"))
    assert os.stat(path).st_ino != inode  # a new file renamed over the old one
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".marketdata.yaml.lock",
        "marketdata.yaml",
    ]


def test_an_edit_waits_for_the_lock_and_says_so(tmp_path):
    path = config_file(tmp_path, COMMENTED)
    told = threading.Event()
    messages = []
    with open(tmp_path / ".marketdata.yaml.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as another process's edit would

        def waited(message):
            messages.append(message)
            told.set()

        editing = threading.Thread(
            target=edit_config,
            args=(path, lambda d: add_connector(d, "okx")),
            kwargs={"on_wait": waited},
        )
        editing.start()
        assert told.wait(30)
        assert path.read_text() == COMMENTED  # nothing written while the lock is held
    editing.join(30)
    assert "  - id: okx\n" in path.read_text()
    assert messages == [
        f"waiting for another edit of {path} to finish (lock {tmp_path / '.marketdata.yaml.lock'})"
    ]


def test_a_missing_file_is_created_only_when_asked(tmp_path):
    path = tmp_path / "marketdata.yaml"
    with pytest.raises(ConfigError, match="not found; create it or set MARKETDATA_CONFIG"):
        edit_config(path, lambda d: add_connector(d, "okx"))
    assert not path.exists()
    edit_config(path, lambda d: add_connector(d, "okx"), create=True)
    assert path.read_text() == "exchanges:\n  - id: okx\n"
    assert load_config(path).connectors[0].id == "okx"


def test_a_file_of_comments_keeps_them(tmp_path):
    path = config_file(tmp_path, "# my markets\n# more to come")
    edit_config(path, lambda d: add_connector(d, "binance"), create=True)
    assert path.read_text() == "# my markets\n# more to come\nexchanges:\n  - id: binance\n"


def test_a_broken_file_is_reported_as_the_loader_reports_it(tmp_path):
    path = config_file(tmp_path, "exchanges: [\n")
    with pytest.raises(ConfigError, match=r"marketdata.yaml:2: YAML syntax error"):
        edit_config(path, lambda d: add_connector(d, "okx"))
    assert path.read_text() == "exchanges: [\n"
