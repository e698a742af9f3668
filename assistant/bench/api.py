"""``loremind bench api``: the OpenAI-compatible API against the core in the same process, in
one run, on the same loaded model, documents and memories.

Time to first token: the same question through the ``openai`` client (HTTP, the token check,
the audit trail, server-sent events) and through ``core.chat.ask`` in a temporary chat that
reads memories, exactly what the API asks of the core. Every measured answer starts from an
empty KV cache (each question's prompt is read in full, retrieval included); the two sides ask
each question back to back, alternating which goes first, and ``ttft_ratio`` is the median of
those pairs' ratios (API over in process). Embeddings: requests per second of
``/v1/embeddings`` (one short text each, one keep-alive connection) against the embedder called
in process on the same texts, alternating text by text. The bench registers its own app in a
keyring of its own: it never touches the user's keyring or data folder.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keyring
from keyring.backend import KeyringBackend

from assistant.bench.documents import MEMORIES, QUESTIONS, write_documents
from assistant.chat.answering import AskOptions
from assistant.chat.conversations import ChatSession
from assistant.chat.events import Failed, Token
from assistant.config import Settings
from assistant.connections.clients import Permissions
from assistant.core import Loremind
from assistant.engine.model import LocalModel
from assistant.errors import LoremindError
from assistant.migrations import open_database
from assistant.paths import AppPaths

CONTEXT = 4096
ANSWER_TOKENS = 8  # the first token is the figure; the rest only has to end
EMBED_REQUESTS = 200
EMBED_TEXTS = ["How long does the fast train from Lisbon to Porto take?",
               "The espresso machine shows error E04.", "Pack a light rain jacket for May."]


def run_api_bench(runs: int = 5, model_path: Path | None = None) -> dict[str, Any]:
    """Every figure of one run, with the load average before and after."""
    try:
        import openai
    except ImportError as exc:  # the bundle leaves the client out: it is a development tool
        raise LoremindError("`loremind bench api` drives the API with the openai client: "
                            "install it with `pip install openai`.") from exc

    from assistant.connect.http import ConnectServer

    load_before = os.getloadavg()
    model = LocalModel.load(model_path, context_size=CONTEXT)
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as tmp, _own_keyring():
        core = _core(model, Path(tmp))
        client, token = core.connections.register("bench", Permissions(read_memories=True))
        server = ConnectServer(core, core.current_settings.connect)
        url = server.start()
        api = openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=600)
        try:
            _api_ttft(api, QUESTIONS[-1])  # warm-up: imports, first HTTP connection
            _in_process_ttft(core, QUESTIONS[-1])
            api_runs: list[float] = []
            local_runs: list[float] = []
            cited: list[int] = []
            for n in range(runs):
                question = QUESTIONS[n % (len(QUESTIONS) - 1)]
                sides = [("api", lambda q=question: _api_ttft(api, q)),
                         ("local", lambda q=question: _in_process_ttft(core, q))]
                for side, measure in sides if n % 2 == 0 else reversed(sides):
                    model.drop_cache()
                    ttft, sources = measure()
                    (api_runs if side == "api" else local_runs).append(ttft)
                    if side == "api":
                        cited.append(sources)
            embeddings = _embeddings(api, core)
            calls = len(core.connections.audit(client.id, limit=100_000))
        finally:
            server.stop()
            core.close()
    # Each question is asked both ways back to back: the ratio of each pair shares its load,
    # and their median is the figure (the medians of each side are reported too).
    ratios = [a / b for a, b in zip(api_runs, local_runs, strict=True)]
    return {
        "model": str(model.path), "runs": runs,
        "api_ttft_s": round(statistics.median(api_runs), 4),
        "in_process_ttft_s": round(statistics.median(local_runs), 4),
        "ttft_ratio": round(statistics.median(ratios), 4),
        "api_ttft_runs_s": [round(t, 4) for t in api_runs],
        "in_process_ttft_runs_s": [round(t, 4) for t in local_runs],
        "api_sources_per_answer": cited,
        **embeddings,
        "audited_calls": calls,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def _core(model: LocalModel, root: Path) -> Loremind:
    """A core on a fresh data folder: the bench documents indexed, a few memories, Connections
    on (any free port)."""
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
    from assistant.knowledge.embedder import Embedder

    settings = Settings()
    settings.generation.max_tokens = ANSWER_TOKENS
    settings.connect.enabled = True
    settings.connect.port = 0
    core = Loremind(paths, settings, model=model, embedder=Embedder(),
                    store=open_database(paths))
    folder = root / "documents"
    write_documents(folder)
    core.knowledge.add_folder(folder)
    core.knowledge.index(folder)
    for text in MEMORIES:
        core.memory.remember(text)
    core.knowledge.maintain()
    return core


def _api_ttft(api: Any, question: str) -> tuple[float, int]:
    """Seconds from the request to the first words through the API, and the sources cited."""
    started = time.perf_counter()
    first = 0.0
    sources = 0
    stream = api.chat.completions.create(model="loremind", stream=True,
                                         messages=[{"role": "user", "content": question}])
    for chunk in stream:
        extension = (chunk.model_extra or {}).get("loremind")
        if extension:
            sources = len(extension["sources"])
        if not first and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first, sources


def _in_process_ttft(core: Loremind, question: str) -> tuple[float, int]:
    """Seconds from the call to the first token of ``core.chat.ask``, asked as the API asks."""
    session = ChatSession(temporary=True)
    options = AskOptions(temporary_reads_memory=True)
    started = time.perf_counter()
    first = 0.0
    for event in core.chat.ask(session, question, options):
        if isinstance(event, Failed):
            raise RuntimeError(f"the answer failed: {event.message}")
        if isinstance(event, Token) and not first and event.text:
            first = time.perf_counter() - started
    return first, 0


def _embeddings(api: Any, core: Loremind) -> dict[str, Any]:
    """Requests per second of /v1/embeddings, one text each, against the embedder in process:
    the two alternate text by text, so both meet the same load."""
    embedder = core.parts.embedder
    for text in EMBED_TEXTS:  # warm-up, both ways
        api.embeddings.create(model="loremind-embeddings", input=text)
        embedder.encode([text])
    local = over_api = 0.0
    for n in range(EMBED_REQUESTS):
        text = EMBED_TEXTS[n % len(EMBED_TEXTS)]
        started = time.perf_counter()
        embedder.encode([text])
        local += time.perf_counter() - started
        started = time.perf_counter()
        api.embeddings.create(model="loremind-embeddings", input=text)  # the client's base64
        over_api += time.perf_counter() - started
    return {"embedding_requests": EMBED_REQUESTS,
            "api_embeddings_per_s": round(EMBED_REQUESTS / over_api, 1),
            "in_process_embeddings_per_s": round(EMBED_REQUESTS / local, 1),
            "embeddings_ratio": round(local / over_api, 4)}


class _BenchKeyring(KeyringBackend):
    """A keyring in this process only: the bench's app token never reaches the user's."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@contextmanager
def _own_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(_BenchKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
