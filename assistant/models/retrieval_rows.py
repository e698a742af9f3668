"""The catalogue's retrieval models (embedders and rerankers) as rows: what each is for, what
it needs, whether it fits and whether it is downloaded. ``loremind models list --kind`` prints
them; the chat model lists never show them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from assistant.errors import ModelError
from assistant.models.catalogue import RETRIEVAL_KINDS

if TYPE_CHECKING:
    from assistant.models.manager import ModelManager


@dataclass(frozen=True)
class RetrievalRow:
    """One embedder or reranker of the catalogue, with its fit and state."""

    name: str
    kind: str  # "embedder" or "reranker"
    title: str
    summary: str
    repo: str
    file: str
    size_bytes: int
    params: int
    context_length: int  # tokens it reads at once
    dimensions: int  # an embedder's vector length (0 for a reranker)
    languages: tuple[str, ...]
    license: str
    query_prefix: str
    document_prefix: str
    quantization: str
    ram_bytes: int
    fits: bool
    fit_note: str
    installed: bool
    path: str = ""
    partial_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        """The row as plain data for ``--json``."""
        return {**asdict(self), "languages": list(self.languages)}


def retrieval_rows(manager: ModelManager, kind: str) -> list[RetrievalRow]:
    """The catalogue's entries of ``kind`` ("embedder" or "reranker") with fit and state."""
    if kind not in RETRIEVAL_KINDS:
        raise ModelError(f"'{kind}' is not a kind of retrieval model; the kinds are "
                         f"{', '.join(RETRIEVAL_KINDS)}.")
    catalogue = manager.catalogue
    machine = manager.machine()
    installed = {m.name: m for m in manager.installed()}
    rows = []
    for entry in catalogue.of_kind(kind):
        fit = catalogue.fit(entry, machine)
        have = installed.get(entry.name)
        note = ({"gpu": "fits on the GPU", "cpu": "fits in RAM"}[fit.device] if fit.fits
                else fit.reason)
        rows.append(RetrievalRow(
            entry.name, entry.kind, entry.title, entry.summary, entry.repo, entry.file,
            entry.size_bytes, entry.params, entry.context_length, entry.dimensions,
            entry.languages, entry.license, entry.query_prefix, entry.document_prefix,
            entry.quantization, entry.ram_bytes, fit.fits, note, have is not None,
            str(have.path) if have else "", manager.partial_bytes(entry)))
    return rows
