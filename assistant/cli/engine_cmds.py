"""Checking the installation, and the engine benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from assistant.bench.engine import run_engine_bench
from assistant.cli.app import cli_context, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.cli.options import ENGINE_OPTION, MODEL_OPTION


@main.command()
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def doctor(model_path: Path | None, as_json: bool) -> None:
    """Show versions, folders, the llama.cpp build's features and the model in use."""
    report = doctor_report(model_path)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, item in value.items():
                click.echo(f"  {sub}: {item}")
        else:
            click.echo(f"{key}: {value}")
    note = report["model"].get("template_note", "")
    if note:
        click.echo(f"Note: {note}")
    if report["model"]["embedded_demo"]:
        click.echo("The model in use is the small embedded demo (SmolLM2-135M): it proves the "
                   "set-up, it is not a good assistant. 'loremind models list' offers real ones.")


def doctor_report(model_path: Path | None) -> dict[str, Any]:
    """The core's report, on the model ``--model`` names (else the settings' one)."""
    from assistant.core.doctor import doctor_report as report

    ctx = cli_context()
    if model_path is not None:
        ctx.settings.model.path = str(model_path)
    return report(ctx.core)


@bench.command("engine")
@MODEL_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--contend", default=0, show_default=True, metavar="N",
              help="Also measure generation beside N busy processes, for each thread count.")
@click.option("--shape", default=None, metavar="NAME",
              help="Time a random model with the exact shape of catalogue model NAME "
                   "(e.g. llama-3.2-3b): written and quantized once, kept in the cache folder.")
@click.option("--follow-ups", default=2, show_default=True, type=click.IntRange(0, 20),
              help="With --shape: follow-up questions after the knowledge question.")
@reports_errors
def bench_engine(model_path: Path | None, engine_url: str | None, as_json: bool,
                 contend: int, shape: str | None, follow_ups: int) -> None:
    """A chat through the app's answer path (documents, memories) against raw llama.cpp:
    generation speed, measured prompt cost per turn, time to first token, overflow. With
    --engine URL: the remote engine against the server's raw completion endpoint. With
    --shape NAME: a model of real size (random weights, real speed) against raw llama.cpp in
    a process of its own: prompt and generation speed, time to first token, peak RSS, KV."""
    ctx = cli_context()
    settings = ctx.settings
    if shape:
        from assistant.bench.engine_shape import run_shape_bench

        if not as_json:
            click.echo(f"Timing a model of {shape}'s shape (writing it takes minutes the first "
                       "time; a large shape answers slowly on a CPU)…", err=True)
        print_result(run_shape_bench(shape, ctx.paths.cache_dir, settings.model,
                                     follow_ups=follow_ups), as_json)
        return
    if engine_url and engine_url != "local":
        from assistant.bench.remote import run_remote_engine_bench
        from assistant.config import with_engine_url

        remote = with_engine_url(settings.model, engine_url).remote
        print_result(run_remote_engine_bench(remote), as_json)
        return
    path = model_path or (Path(settings.model.path) if settings.model.path else None)
    if not as_json:
        click.echo("Running the engine benchmark (a few minutes)…", err=True)
    print_result(run_engine_bench(path, threads=settings.model.threads, contend=contend),
                 as_json)
    sys.stdout.flush()


@bench.command("echo")
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_echo(model_path: Path | None, as_json: bool) -> None:
    """How often answers repeat the prompt's own instructions (sources and memories in the
    prompt, as a user's are)."""
    from assistant.bench.echo import run_echo_bench

    if not as_json:
        click.echo("Asking the benchmark's questions (a minute or two)…", err=True)
    configured = cli_context().settings.model.path
    chosen = model_path or (Path(configured).expanduser() if configured else None)
    print_result(run_echo_bench(chosen), as_json)


@bench.command("lookup")
@MODEL_OPTION
@click.option("--draft", "draft_tokens", multiple=True, type=click.IntRange(1, 64),
              default=(10,), show_default=True,
              help="Tokens each lookup guess proposes; repeat to compare several.")
@click.option("--rounds", type=click.IntRange(1, 20), default=2, show_default=True,
              help="How many times each prompt is answered by each model.")
@click.option("--tokens", "max_tokens", type=click.IntRange(1, 4096), default=200,
              show_default=True, help="Tokens per answer at most.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_lookup(model_path: Path | None, draft_tokens: tuple[int, ...], rounds: int,
                 max_tokens: int, as_json: bool) -> None:
    """Prompt-lookup decoding against plain decoding, on greedy answers to the app's prompts
    with sources: tokens per second, and whether the answers are the same."""
    from assistant.bench.lookup import run_lookup_bench

    if not as_json:
        click.echo("Answering the benchmark's questions with and without lookup (minutes)…",
                   err=True)
    configured = cli_context().settings.model.path
    chosen = model_path or (Path(configured).expanduser() if configured else None)
    print_result(run_lookup_bench(chosen, draft_tokens=draft_tokens, rounds=rounds,
                                  max_tokens=max_tokens), as_json)
