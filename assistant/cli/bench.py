"""``loremind bench …``: performance measured against a baseline taken in the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from assistant.cli.app import cli_context, main, reports_errors


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


@bench.command("retrieval")
@click.option("--eval", "eval_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Questions file (JSON); default: benchmarks/retrieval/questions.json.")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the corpus and its index in this folder and reuse them next time.")
@click.option("--reindex", is_flag=True, help="Re-chunk and re-embed a reused index first.")
@click.option("--misses", is_flag=True, help="Also list the questions not answered first.")
@click.option("--budgets", is_flag=True,
              help="Also measure the chat's sources under other budgets (passages, words, "
                   "tokens): a table of source tokens, needles read and first sources right.")
@click.option("--embedder", default="builtin", show_default=True,
              help="The embedder: builtin (all-MiniLM-L6-v2 on sentence-transformers), "
                   "builtin-llama (the same model converted to GGUF, on llama.cpp), or a "
                   "downloaded catalogue embedder or GGUF file; each gets its own index.")
@click.option("--reranker", default="",
              help="Rerank with this downloaded catalogue reranker or GGUF file, and measure "
                   "the search without it beside (norerank_ figures).")
@click.option("--rerank-budget-ms", type=click.FloatRange(0, 60_000),
              help="The reranker's time per search; default: [knowledge] rerank_budget_ms's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_retrieval(eval_file: Path | None, home: Path | None, reindex: bool, misses: bool,
                    budgets: bool, embedder: str, reranker: str,
                    rerank_budget_ms: float | None, as_json: bool) -> None:
    """Search quality on real documentation, against full-text-only and vector-only search
    (chunks and passages), and what the chat's sources cost the prompt."""
    from assistant.bench.retrieval import DEFAULT_EVAL, run_retrieval_bench

    if not as_json:
        click.echo("Running the retrieval benchmark (indexing takes a few minutes)…", err=True)
    result = run_retrieval_bench(eval_file or DEFAULT_EVAL, home, reindex, misses,
                                 budgets=budgets, embedder=embedder, reranker=reranker,
                                 rerank_budget_ms=rerank_budget_ms)
    if as_json:
        click.echo(json.dumps(result))
        return
    listed = result.pop("misses", [])
    table = result.pop("budgets", [])
    print_result(result, as_json)
    for miss in listed:
        click.echo(json.dumps(miss))
    if table:
        click.echo(f"\n{'setting':<22}{'source_tokens_p50':>19}{'needle_in_prompt':>18}"
                   f"{'r1':>7}")
        for row in table:
            click.echo(f"{row['setting']:<22}{row['source_tokens_p50']:>19}"
                       f"{row['needle_in_prompt']:>18}{row['source_r1']:>7}")


@bench.command("train")
@click.option("--steps", type=click.IntRange(2, 10_000), default=12, show_default=True,
              help="Training steps, for the app and for the plain PEFT script alike.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_train(steps: int, as_json: bool) -> None:
    """The whole Teach run (start, load, probe, train, export, evaluation, card) against a
    plain PEFT script doing the same work on the same examples: both totals, each phase, the
    ratio, and the held-out loss each measured without and with the adapter."""
    from assistant.bench.train import run_train_bench

    if not as_json:
        click.echo("Running the training benchmark (minutes on a CPU)…", err=True)
    print_result(run_train_bench(steps=steps, threads=cli_context().settings.model.threads),
                 as_json)
