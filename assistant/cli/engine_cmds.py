"""Checking the installation, and the engine benchmark."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import click

from assistant import __version__
from assistant.bench.engine import run_engine_bench
from assistant.cli.app import cli_context, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.cli.options import ENGINE_OPTION, MODEL_OPTION
from assistant.engine import LocalModel
from assistant.errors import LoremindError


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
    if report["model"]["embedded_demo"]:
        click.echo("The model in use is the small embedded demo (SmolLM2-135M): it proves the "
                   "set-up, it is not a good assistant. 'loremind models list' offers real ones.")


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
        "embedded_demo": _is_embedded_demo(model.path),
    }
    model.close()
    return report


def _is_embedded_demo(path: Path) -> bool:
    from assistant.defaults import embedded_chat_model

    try:
        return path.resolve() == embedded_chat_model().resolve()
    except LoremindError:  # no embedded model installed: whatever runs is not it
        return False


@bench.command("engine")
@MODEL_OPTION
@ENGINE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--contend", default=0, show_default=True, metavar="N",
              help="Also measure generation beside N busy processes, for each thread count.")
@reports_errors
def bench_engine(model_path: Path | None, engine_url: str | None, as_json: bool,
                 contend: int) -> None:
    """A chat through the app's answer path (documents, memories) against raw llama.cpp:
    generation speed, measured prompt cost per turn, time to first token, overflow. With
    --engine URL: the remote engine against the server's raw completion endpoint."""
    settings = cli_context().settings
    if engine_url and engine_url != "local":
        from assistant.bench.remote import run_remote_engine_bench
        from assistant.engine.factory import with_engine_url

        remote = with_engine_url(settings.model, engine_url).remote
        print_result(run_remote_engine_bench(remote), as_json)
        return
    path = model_path or (Path(settings.model.path) if settings.model.path else None)
    if not as_json:
        click.echo("Running the engine benchmark (a few minutes)…", err=True)
    print_result(run_engine_bench(path, threads=settings.model.threads, contend=contend),
                 as_json)
    sys.stdout.flush()
