"""Which process executes a run, and whether it still lives.

A run whose process died (kill -9, Ctrl-C of `dagster dev`, a machine gone) stays STARTED for
ever unless someone notices. `marketdata sync` executes its runs in its own process, outside
any run launcher, so they carry the pid, the pid's start time (a reused pid is another
process) and the host as tags. Runs launched by `dagster dev` carry the code server that
executes them (Dagster's grpc_info tag) and, from the project's launcher, the host.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterRun, DagsterRunStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

PID_TAG = "marketdata/pid"
PID_START_TAG = "marketdata/pid_start"
HOST_TAG = "marketdata/host"

ALIVE, DEAD, UNKNOWN = "alive", "dead", "unknown"
# A code server only lists a run once it started it; before that, Dagster's start timeout rules.
SERVER_CHECKED = {DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING}
CODE_SERVER_TIMEOUT = 5  # seconds; a code server slower than that is unknown, not dead


@dataclass(frozen=True)
class Liveness:
    state: str  # ALIVE, DEAD or UNKNOWN (nothing recorded, or another host's process)
    detail: str


def host() -> str:
    return socket.gethostname()


def owner_tags() -> dict[str, str]:
    """Tags naming this process as the executor of a run it starts in-process."""
    pid = os.getpid()
    return {PID_TAG: str(pid), PID_START_TAG: process_start(pid) or "", HOST_TAG: host()}


def process_start(pid: int) -> str | None:
    """When the process started (clock ticks since boot), or None if it is gone or unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in "ZX" else fields[19]  # a zombie has finished


def process_alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    if not Path("/proc/self/stat").exists():
        return True  # no procfs: the pid exists, its start time cannot be compared
    return process_start(pid) == started if started else process_start(pid) is not None


def liveness(run: DagsterRun) -> Liveness:
    """Whether the process executing `run` is alive, judged only on this host's evidence."""
    tags = run.tags
    if tags.get(HOST_TAG) not in (None, host()):
        return Liveness(UNKNOWN, f"runs on host {tags[HOST_TAG]}")
    if PID_TAG in tags:
        pid = int(tags[PID_TAG])
        if process_alive(pid, tags.get(PID_START_TAG, "")):
            return Liveness(ALIVE, f"pid {pid} alive")
        return Liveness(DEAD, f"its process {pid} on {host()} is gone")
    if GRPC_INFO_TAG in tags and HOST_TAG in tags and run.status in SERVER_CHECKED:
        return _code_server_liveness(run)
    return Liveness(UNKNOWN, "no process recorded")


def _code_server_liveness(run: DagsterRun) -> Liveness:
    import grpc
    from dagster._core.errors import DagsterUserCodeUnreachableError
    from dagster._grpc.__generated__ import dagster_api_pb2
    from dagster._grpc.client import DagsterGrpcClient
    from dagster._grpc.types import GetCurrentRunsResult
    from dagster._serdes import deserialize_value

    info = json.loads(run.tags[GRPC_INFO_TAG])
    address = info.get("socket") or f"{info.get('host')}:{info.get('port')}"
    client = DagsterGrpcClient(
        port=info.get("port"), socket=info.get("socket"), host=info.get("host", "localhost")
    )
    try:  # Dagster's get_current_runs, with a timeout short enough for a schedule tick
        reply = client._query("GetCurrentRuns", dagster_api_pb2.Empty, timeout=CODE_SERVER_TIMEOUT)
        current = deserialize_value(reply.serialized_current_runs, GetCurrentRunsResult)
    except DagsterUserCodeUnreachableError as e:
        cause = e.__cause__
        if isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.UNAVAILABLE:
            return Liveness(DEAD, f"its code server {address} is gone")
        return Liveness(UNKNOWN, f"its code server {address} does not answer")
    if run.run_id in current.current_runs:
        return Liveness(ALIVE, f"code server {address} runs it")
    return Liveness(DEAD, f"its code server {address} no longer runs it")
