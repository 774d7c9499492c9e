"""`marketdata serve` and `marketdata chart`: mistakes about where to listen or write are one line."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from marketdata_pipeline.cli.main import main

from ..conftest import free_port, marketdata


def test_a_busy_port_is_one_line_and_exit_2(make_project, tmp_path):
    make_project()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = marketdata("serve", "--port", str(port), cwd=tmp_path, timeout=60)
    assert (run.returncode, run.stderr, run.stdout) == (
        2,
        f"error: port {port} is in use; pass --port\n",
        "",
    )


def test_an_address_of_no_interface_is_one_line(make_project):
    make_project()
    port = free_port()  # 203.0.113.0/24 is for documentation: no interface here has it
    result = CliRunner().invoke(main, ["serve", "--host", "203.0.113.7", "--port", str(port)])
    assert (result.exit_code, result.output) == (
        2,
        f"error: cannot listen on 203.0.113.7:{port} (Cannot assign requested address);"
        " pass --host or --port\n",
    )


def test_a_port_out_of_range_is_one_line(make_project):
    make_project()
    result = CliRunner().invoke(main, ["serve", "--port", "70000"])
    assert (result.exit_code, result.output) == (
        2,
        "error: --port 70000 is not a TCP port; pass one from 0 to 65535\n",
    )


def test_chart_into_a_missing_folder_is_one_line_before_reading(make_project):
    make_project()
    result = CliRunner().invoke(
        main, ["chart", "binance", "BTC/USDT", "1m", "-o", "/nonexistent/dir/c.png"]
    )
    assert (result.exit_code, result.output) == (
        2,
        "error: --output /nonexistent/dir/c.png: folder /nonexistent/dir does not exist;"
        " create it or write elsewhere\n",
    )
