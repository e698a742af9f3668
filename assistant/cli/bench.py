"""``loremind bench …``: performance measured against a baseline taken in the same run."""

from __future__ import annotations

import json
from typing import Any

import click

from assistant.cli.app import main


@main.group()
def bench() -> None:
    """Measure speed; every benchmark prints JSON with --json."""


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """Print a benchmark's figures as JSON or as aligned lines."""
    if as_json:
        click.echo(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value}")
