"""Asking a running Dagster webserver to reload the project's code location after an edit of
the config, so the new assets appear in the UI without restarting `dagster dev`.

Plain HTTP to its GraphQL API: the editing commands stay quick to start (no Dagster import).
"""

from __future__ import annotations

import json
import urllib.request

import click

LOCATION = "marketdata_pipeline"  # workspace.yaml's location_name
URL_ENV = "DAGSTER_WEBSERVER_URL"
DEFAULT_URL = "http://127.0.0.1:3000"
PROBE_SECONDS = 1.0  # a webserver answers its /server_info at once
RELOAD_SECONDS = 120.0  # the reload answers once the definitions are loaded again
HOW = "reload the code location in the UI or restart dagster dev"

RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      locationOrLoadError { __typename ... on PythonError { message } }
    }
    ... on ReloadNotSupported { message }
    ... on RepositoryLocationNotFound { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""


def dagster_url_option(command):
    return click.option(
        "--dagster-url",
        envvar=URL_ENV,
        default=DEFAULT_URL,
        show_default=True,
        help=f"Dagster webserver to reload after the edit (or ${URL_ENV}).",
    )(command)


def reload_location(url: str) -> tuple[bool, str]:
    """Reload the code location at the webserver `url`: (reloaded, one line saying what happened)."""
    base = url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/server_info", timeout=PROBE_SECONDS):
            pass
    except (OSError, ValueError):
        return False, f"no Dagster webserver answers at {base}; {HOW} to see the change"
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": RELOAD, "variables": {"name": LOCATION}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_SECONDS) as response:
            answer = json.load(response)["data"]["reloadRepositoryLocation"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return False, f"Dagster at {base} did not reload code location {LOCATION} ({e}); {HOW}"
    loaded = answer.get("locationOrLoadError") or {}
    if loaded.get("__typename") == "RepositoryLocation":
        return True, f"reloaded code location {LOCATION} in Dagster at {base}"
    problem = (loaded.get("message") or answer.get("message") or answer["__typename"]).strip()
    return False, f"Dagster at {base} could not reload {LOCATION}: {problem.splitlines()[0]}; {HOW}"
