"""Chatting from the terminal, checking the installation, and the engine benchmark."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import click

from assistant import __version__
from assistant.cli.adapter_cmds import ADAPTER_OPTION, apply_adapter_specs
from assistant.cli.app import cli_context, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.engine import LocalModel, Message, SamplingParams
from assistant.engine.bench import run_engine_bench

MODEL_OPTION = click.option(
    "--model", "model_path", type=click.Path(path_type=Path), default=None,
    help="A GGUF model file (default: the one in the settings, else the embedded SmolLM2).",
)


def load_model(model_path: Path | None) -> LocalModel:
    """The model named on the command line, else the one in the settings."""
    settings = cli_context().settings
    if model_path is not None:
        return LocalModel.load(
            model_path,
            context_size=settings.model.context_size,
            threads=settings.model.threads,
            gpu_layers=settings.model.gpu_layers,
        )
    return LocalModel.from_settings(settings.model)


@main.command()
@click.argument("question")
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming.")
@ADAPTER_OPTION
@reports_errors
def ask(question: str, model_path: Path | None, as_json: bool, adapters: tuple[str, ...]) -> None:
    """Ask one question and stream the answer."""
    settings = cli_context().settings
    model = load_model(model_path)
    apply_adapter_specs(model, adapters)
    messages: list[Message] = [
        {"role": "system", "content": settings.generation.system_prompt},
        {"role": "user", "content": question},
    ]
    stream = model.stream_chat(messages, SamplingParams.from_settings(settings.generation))
    for piece in stream:
        if not as_json:
            click.echo(piece, nl=False)
    if as_json:
        click.echo(json.dumps({
            "text": stream.text.strip(),
            "model": str(model.path),
            "prompt_tokens": stream.stats.prompt_tokens,
            "completion_tokens": stream.stats.completion_tokens,
            "seconds": round(stream.stats.seconds, 3),
            "finish_reason": stream.stats.finish_reason,
        }))
    else:
        click.echo()


@main.command()
@MODEL_OPTION
@reports_errors
def chat(model_path: Path | None) -> None:
    """An interactive chat in the terminal (Ctrl+D or /quit ends it)."""
    settings = cli_context().settings
    model = load_model(model_path)
    params = SamplingParams.from_settings(settings.generation)
    history: list[Message] = [{"role": "system", "content": settings.generation.system_prompt}]
    click.echo(f"Chatting with {model.info.name or model.path.name}. /quit or Ctrl+D to end.")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            click.echo()
            return
        if text.strip() in {"/quit", "/exit"}:
            return
        if not text.strip():
            continue
        history.append({"role": "user", "content": text})
        click.echo("loremind> ", nl=False)
        try:
            stream = model.stream_chat(history, params)
            for piece in stream:
                click.echo(piece, nl=False)
        except KeyboardInterrupt:
            click.echo(" [stopped]", nl=False)
        click.echo()
        history.append({"role": "assistant", "content": stream.text})


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


def doctor_report(model_path: Path | None) -> dict[str, Any]:
    """Everything a bug report needs about this installation, as plain data."""
    import keyring
    import lancedb
    import llama_cpp

    ctx = cli_context()
    report: dict[str, Any] = {
        "loremind": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "llama_cpp_python": llama_cpp.__version__,
        "lancedb": lancedb.__version__,
        "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
        "llama_system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "keyring_backend": type(keyring.get_keyring()).__name__,
        "config_file": str(ctx.paths.config_file),
        "data_dir": str(ctx.paths.data_dir),
        "cache_dir": str(ctx.paths.cache_dir),
        "log_dir": str(ctx.paths.log_dir),
        "gpu_layers_setting": ctx.settings.model.gpu_layers,
    }
    model = load_model(model_path)
    report["n_gpu_layers"] = model.report.n_gpu_layers
    report["model"] = {
        "path": str(model.path),
        "name": model.info.name,
        "architecture": model.info.architecture,
        "context_length": model.info.context_length,
        "context_size": model.n_ctx,
        "size_bytes": model.info.size_bytes,
        "chat_template": "fallback (ChatML)" if model.template.is_fallback else "from the model",
    }
    model.close()
    return report


@bench.command("engine")
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_engine(model_path: Path | None, as_json: bool) -> None:
    """Raw llama-cpp-python against Loremind's streaming path, prompt speed, cache reuse."""
    settings = cli_context().settings
    path = model_path or (Path(settings.model.path) if settings.model.path else None)
    if not as_json:
        click.echo("Running the engine benchmark (about a minute)…", err=True)
    print_result(run_engine_bench(path, threads=settings.model.threads), as_json)
    sys.stdout.flush()
