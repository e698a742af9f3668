"""``loremind bench contention``: answers, memory edits and cancels while a large folder indexes.

Everything goes through the core, as the GUI and the CLI use it: the folder is indexed as the
core's background job, the questions are the core's chat answers (knowledge questions from the
retrieval evaluation, over an indexed reference folder, in new stored chats), memories are added
through the memory area, and stops are the job's cancel. The baseline is the same questions
asked the same way on an idle machine, in the same run, before indexing starts.

The corpus is real documentation nobody here wrote (Debian's ``postgresql-doc-15`` and
``git-doc``, installed by apt): ``files`` pages, of which ``large_files`` are 2 MB text files
made of many pages' text, placed first so that stops land inside them too.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.bench.retrieval import DEFAULT_EVAL, DOC_ROOT, ensure_corpus, load_questions
from assistant.chat.answering import AskOptions
from assistant.chat.events import Failed, Token
from assistant.config import Settings
from assistant.core import Job, Loremind
from assistant.engine.model import SamplingParams
from assistant.knowledge.parsers import ParsedDocument, parser_for
from assistant.paths import AppPaths

ANSWER_TOKENS = 32
REFERENCE_PAGES = 40
ALONE_WINDOW_S = 15.0
MEMORIES = ("I use PostgreSQL 15 at work.", "I keep my projects in git on a laptop.",
            "I prefer short answers with one example.")


def run_contention_bench(model_path: Path | None = None, files: int = 300,
                         large_files: int = 3, large_mb: float = 2.0, questions: int = 5,
                         cancels: int = 10, seed: int = 7) -> dict[str, Any]:
    """Time to first token idle and while indexing, cancel latency, memory adds, chunks/s."""
    rng = random.Random(seed)
    asked, globs = load_questions(DEFAULT_EVAL)
    pages = ensure_corpus(globs)
    everything = sorted({*pages, *DOC_ROOT.glob("postgresql-doc-15/html/*.html"),
                         *DOC_ROOT.glob("git-doc/*.html")})
    chosen = asked[:questions]
    wanted = {page for q in chosen for page in q.pages}
    with tempfile.TemporaryDirectory(prefix="loremind-contention-") as tmp:
        root = Path(tmp)
        sources = ([p for p in pages if p.name in wanted]
                   + [p for p in pages if p.name not in wanted][:REFERENCE_PAGES])
        reference = _copy(sources, root / "reference")
        others = [p for p in everything if p not in set(sources)]
        incoming = root / "incoming"
        _write_large(others, incoming, large_files, int(large_mb * 1_000_000))
        _copy(others[:max(0, files - large_files)], incoming)
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        settings = Settings()
        if model_path is not None:
            settings.model.path = str(model_path)
        settings.knowledge.folders = [str(reference.resolve())]
        core = Loremind.open(paths, settings)
        try:
            core.load_model()
            core.load_knowledge()
            core.knowledge.index(reference)
            for text in MEMORIES:
                core.memory.remember(text)
            return _measure(core, [q.text for q in chosen], incoming, cancels, rng) | {
                "model": core.models.loaded_name, "questions": len(chosen),
                "files": len(list(incoming.iterdir())), "large_files": large_files,
                "large_file_mb": large_mb, "load_average": os.getloadavg()[0]}
        finally:
            core.close()


def _measure(core: Loremind, questions: list[str], incoming: Path, cancels: int,
             rng: random.Random) -> dict[str, Any]:
    # Embedded chunks, counted by the embedder itself (commits come every batch, seconds apart).
    embedded = core.parts.embedder
    _ask(core, questions[0])  # warm: the first answer after loading pays once for caches
    idle = [_ask(core, q)[0] for q in questions]
    idle_adds = _memory_adds(core, rng, "on an idle machine")
    job = core.knowledge.start_indexing(incoming)
    _wait_for_chunks(job)
    alone = _rate(embedded, ALONE_WINDOW_S)
    busy: list[float] = []
    answered_chunks = 0
    answering_s = 0.0
    for question in questions:
        before, started = embedded.calls, time.perf_counter()
        ttft, _ = _ask(core, question)
        answering_s += time.perf_counter() - started
        answered_chunks += embedded.calls - before - 1  # less the question's own embedding
        busy.append(ttft)
    adds = _memory_adds(core, rng, "while the folder indexes")
    latencies, inside = _cancels(core, job, incoming, cancels, rng)
    idle_s, busy_s = statistics.median(idle), statistics.median(busy)
    return {
        "ttft_idle_s": round(idle_s, 3),
        "ttft_while_indexing_s": round(busy_s, 3),
        "ttft_ratio": round(busy_s / idle_s, 3),
        "ttft_idle_each_s": [round(t, 3) for t in idle],
        "ttft_while_indexing_each_s": [round(t, 3) for t in busy],
        "cancel_latency_s_p95": round(_p95(latencies), 3),
        "cancel_latency_s": [round(t, 3) for t in latencies],
        "cancels_inside_a_large_file": inside,
        "memory_add_while_indexing_s": round(max(adds), 3),
        "memory_add_idle_s": round(max(idle_adds), 3),
        "indexing_chunks_per_s_alone": round(alone, 1),
        "indexing_chunks_per_s_while_answering": round(max(0, answered_chunks) / answering_s,
                                                       1),
    }


def _ask(core: Loremind, question: str) -> tuple[float, str]:
    """One knowledge question in a new stored chat, read from an empty cache (as both phases
    ask it): seconds to the first token, the text."""
    drop_cache = getattr(core.parts.loaded_model, "drop_cache", None)
    if drop_cache is not None:
        drop_cache()
    options = AskOptions(sampling=SamplingParams.greedy(ANSWER_TOKENS))
    started = time.perf_counter()
    first: float | None = None
    text = ""
    for event in core.chat.ask(core.chat.new_session(), question, options):
        if isinstance(event, Token):
            first = first or time.perf_counter() - started
            text += event.text
        elif isinstance(event, Failed):
            raise RuntimeError(f"the answer failed: {event.message}")
    if first is None:
        raise RuntimeError("the answer produced no text")
    return first, text


def _cancels(core: Loremind, job: Job, incoming: Path, count: int,
             rng: random.Random) -> tuple[list[float], int]:
    """Stop the indexing at random moments (then start it again): seconds from the cancel to
    the job's end, and how many stops came inside a large file."""
    latencies, inside = [], 0
    for _ in range(count):
        time.sleep(rng.uniform(0.5, 4.0))
        if job.ended:
            break  # the folder is done: nothing left to stop
        progress = job.progress
        inside += bool(progress is not None and progress.path.endswith(".txt"))
        asked = time.perf_counter()
        job.cancel()
        job.wait()
        latencies.append(time.perf_counter() - asked)
        job = core.knowledge.start_indexing(incoming)
        _wait_for_chunks(job, 0)
    job.cancel()
    job.wait()
    return latencies, inside


def _wait_for_chunks(job: Job, at_least: int = 1, timeout: float = 600.0) -> None:
    started = time.monotonic()
    while (job.progress is None or job.progress.chunks_done < at_least) and not job.ended:
        if time.monotonic() - started > timeout:
            raise RuntimeError("indexing made no progress")
        time.sleep(0.05)


def _rate(embedder: Any, seconds: float) -> float:
    """Texts the embedder embeds per second over ``seconds`` (the indexing alone)."""
    before, started = embedder.calls, time.perf_counter()
    time.sleep(seconds)
    return (embedder.calls - before) / (time.perf_counter() - started)


def _memory_adds(core: Loremind, rng: random.Random, when: str) -> list[float]:
    """Seconds each of three memories takes to be kept, as the Memory panel adds them."""
    took = []
    for n in range(3):
        started = time.perf_counter()
        core.memory.remember(f"Note {n} written {when}: {rng.random():.6f}")
        took.append(time.perf_counter() - started)
    return took


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def _copy(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for source in files:
        target = folder / f"{source.parent.name}-{source.name}"
        if not target.exists():
            target.write_bytes(source.read_bytes())
    return folder


def _write_large(pages: list[Path], folder: Path, count: int, size: int) -> None:
    """``count`` text files of ``size`` bytes, each the text of many pages in a row (named to
    come first in the folder, so that the indexing is inside one of them early on)."""
    folder.mkdir(parents=True, exist_ok=True)
    parse = parser_for(".html")
    assert parse is not None
    texts = []
    for page in pages:
        parsed = parse(page.read_bytes())
        if isinstance(parsed, ParsedDocument):
            texts.append("\n\n".join(section.text for section in parsed.sections))
        if sum(len(t) for t in texts) > size * count:
            break
    body = "\n\n".join(t for t in texts if t)
    for n in range(count):
        start = (n * len(body)) // max(count, 1)
        piece = (body[start:] + "\n\n" + body)[:size]
        (folder / f"000-large-{n}.txt").write_text(piece, encoding="utf-8")
