"""``loremind bench startup``: from launch to the window and to the first token of an answer,
against a bare window and the model alone."""

from __future__ import annotations

import click

from assistant.cli.app import reports_errors
from assistant.cli.bench import bench, print_result


@bench.command("startup")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--runs", default=5, show_default=True, help="Launches to time.")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              help="Seconds a launch may take to answer before it counts as failed.")
@click.option("--platform", type=click.Choice(["auto", "xcb", "offscreen"]), default="auto",
              show_default=True, help="Where windows are shown: auto takes the desktop's "
              "display, else Xvfb with openbox when installed, else Qt's offscreen platform.")
@reports_errors
def bench_startup(as_json: bool, runs: int, timeout_s: float, platform: str) -> None:
    """Seconds from launch to the window's first frame and to the first token of a first
    question (median and spread over several launches), against a bare PySide6 window and
    llama-cpp-python alone answering the same question, launched in the same run."""
    from assistant.bench.startup import measure_startup

    print_result(measure_startup(runs, timeout_s, platform), as_json)
