"""What the commands that edit the config share: the file they edit, the edit itself, what they
print, and the reload of a running Dagster webserver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..config import LoadedConfig, config_path
from ..config.edit import Change, Edit, edit_config
from .reload import reload_location


def edited_path(ctx: click.Context) -> Path:
    return Path(ctx.obj).resolve() if ctx.obj else config_path()


def apply(
    ctx: click.Context,
    change: Change,
    dagster_url: str,
    *,
    create: bool = False,
    check: Callable[[LoadedConfig], None] | None = None,
) -> Edit:
    """Edit the config, say what changed, and have Dagster reload it when something did."""
    path = edited_path(ctx)
    edit = edit_config(
        path,
        change,
        create=create,
        check=check,
        on_wait=lambda what: click.echo(f"edit: {what}", err=True),
    )
    click.echo(f"{path}: {edit.message}")
    if edit.changed:
        reloaded, line = reload_location(dagster_url)
        click.echo(line if reloaded else f"note: {line}", err=not reloaded)
    return edit
