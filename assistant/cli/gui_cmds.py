"""``loremind bench startup``: from launch to the window and to the first token of an answer."""

from __future__ import annotations

import click

from assistant.cli.app import reports_errors
from assistant.cli.bench import bench, print_result


@bench.command("startup")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--runs", default=5, show_default=True, help="Launches to time.")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              help="Seconds a launch may take to answer before it counts as failed.")
@reports_errors
def bench_startup(as_json: bool, runs: int, timeout_s: float) -> None:
    """Seconds from launch to the window shown and to the first token of a first question
    (median and spread over several launches)."""
    from assistant.bench.startup import measure_startup

    print_result(measure_startup(runs, timeout_s), as_json)
