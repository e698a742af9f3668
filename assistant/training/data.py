"""Training data the user picked, and only that: texts to write like, or pairs to answer like.

Texts are split into windows of the model's own tokens, and every token counts in the loss.
Pairs are written with the model's own chat template (the configured system prompt, the prompt,
the response) and only the response's tokens count. A tenth of the examples (at least one) is
held out to measure the adapter. Bad input is refused with a message saying what to fix, before
anything is trained.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import TrainingError
from assistant.training.tokens import ModelTokenizer
from assistant.wording import plural

IGNORE = -100  # label of a token that does not count in the loss (PyTorch's convention)
MIN_EXAMPLES = 5  # fewer cannot be split into training and held-out examples worth the name
HELD_OUT_SHARE = 0.10
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class Pair:
    """A prompt and the response the adapter should learn to give, with where it came from."""

    prompt: str
    response: str
    origin: str  # "pairs.jsonl:12" or "chat:<session id>/<message id>"


@dataclass(frozen=True)
class DataSource:
    """One place the examples came from, as the adapter card records it."""

    kind: str  # "text", "pairs" or "chat"
    path: str = ""
    sha256: str = ""
    message_ids: tuple[str, ...] = ()
    examples: int = 0


@dataclass
class Example:
    """One training sequence: token ids, and labels that are ``IGNORE`` where loss is not taken."""

    input_ids: list[int]
    labels: list[int]
    origin: str
    text: str  # shown in the preview

    @property
    def trained_tokens(self) -> int:
        """Tokens whose prediction counts in the loss."""
        return sum(1 for label in self.labels if label != IGNORE)


@dataclass
class TrainingData:
    """Examples split into training and held-out, with their sources."""

    kind: str  # "texts" or "pairs"
    train: list[Example]
    heldout: list[Example]
    sources: list[DataSource]
    system_prompt: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. responses cut to fit

    @property
    def examples(self) -> list[Example]:
        return self.train + self.heldout

    def counts(self) -> dict[str, int]:
        """Example and token counts for the preview and the card."""
        return {
            "examples": len(self.examples),
            "train_examples": len(self.train),
            "heldout_examples": len(self.heldout),
            "tokens": sum(len(e.input_ids) for e in self.examples),
            "trained_tokens": sum(e.trained_tokens for e in self.train),
        }

    def preview(self, limit: int = 5) -> list[dict[str, Any]]:
        """The first examples as text with their token counts, for the user to check."""
        return [{"origin": e.origin, "text": e.text, "tokens": len(e.input_ids),
                 "trained_tokens": e.trained_tokens, "heldout": e in self.heldout}
                for e in self.examples[:limit]]

    def save(self, path: Path) -> None:
        """Write the prepared examples for the worker process."""
        data = {"kind": self.kind, "system_prompt": self.system_prompt, "notes": self.notes,
                "sources": [asdict(s) for s in self.sources],
                "train": [asdict(e) for e in self.train],
                "heldout": [asdict(e) for e in self.heldout]}
        path.write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrainingData:
        """Read what :meth:`save` wrote."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["kind"], [Example(**e) for e in data["train"]],
                   [Example(**e) for e in data["heldout"]],
                   [DataSource(**{**s, "message_ids": tuple(s["message_ids"])})
                    for s in data["sources"]], data["system_prompt"], data["notes"])


def read_pairs_jsonl(path: Path) -> list[Pair]:
    """Pairs from a JSONL file of ``{"prompt": …, "response": …}``; refuses broken lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"Cannot read the pairs file {path}: {exc}") from exc
    pairs: list[Pair] = []
    broken: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            broken.append(f"line {number}: not JSON ({exc.msg})")
            continue
        prompt = row.get("prompt") if isinstance(row, dict) else None
        response = row.get("response") if isinstance(row, dict) else None
        if not (isinstance(prompt, str) and isinstance(response, str)
                and prompt.strip() and response.strip()):
            broken.append(f"line {number}: needs non-empty \"prompt\" and \"response\" text")
            continue
        pairs.append(Pair(prompt.strip(), response.strip(), f"{path.name}:{number}"))
    if broken:
        shown = "; ".join(broken[:5]) + (f"; and {len(broken) - 5} more" if len(broken) > 5
                                         else "")
        raise TrainingError(f"{path.name} has {plural(len(broken), 'broken line')}: {shown}. "
                            "Fix or remove them and start again; nothing was trained.")
    return pairs


def read_texts(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """The text of each file (folders are walked), read with the knowledge parsers."""
    # Imported here: the knowledge package pulls in the store and the embedder.
    from assistant.errors import DocumentError
    from assistant.knowledge.parsers import Skipped, parser_for

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise TrainingError(f"{path} does not exist; give files or folders of your texts.")
    texts: list[tuple[Path, str]] = []
    for file in files:
        parser = parser_for(file.suffix.lower())
        if parser is None:
            continue
        try:
            document = parser(file.read_bytes())
        except (OSError, DocumentError) as exc:
            raise TrainingError(f"Cannot read {file}: {exc}") from exc
        if isinstance(document, Skipped):
            raise TrainingError(f"Cannot use {file}: {document.reason}.")
        text = "\n\n".join(s.text for s in document.sections).strip()
        if text:
            texts.append((file, text))
    return texts


def prepare_texts(tokenizer: ModelTokenizer, paths: Sequence[Path], *,
                  max_tokens: int = DEFAULT_MAX_TOKENS, seed: int = 0) -> TrainingData:
    """"Write like me": the texts cut into windows of ``max_tokens`` of the model's tokens."""
    texts = read_texts(paths)
    examples: list[Example] = []
    sources: list[DataSource] = []
    for path, text in texts:
        ids = tokenizer.tokenize(text)
        windows = [ids[i:i + max_tokens - 1] for i in range(0, len(ids), max_tokens - 1)]
        bos = [tokenizer.bos] if tokenizer.add_bos else []
        windows = [w for w in windows if len(w) >= 8]  # a stub teaches nothing
        for n, window in enumerate(windows):
            ids_in = bos + window
            examples.append(Example(ids_in, [IGNORE] * len(bos) + window, f"{path.name}#{n}",
                                    tokenizer.detokenize(window)))
        sources.append(DataSource("text", str(path.resolve()), _sha256(path), (), len(windows)))
    if not texts:
        raise TrainingError("No text was found in the files given. Give plain text, Markdown, "
                            "Word, PDF or HTML files you wrote.")
    return _split("texts", examples, sources, "", [], seed)


def prepare_pairs(tokenizer: ModelTokenizer, pairs: Sequence[Pair], sources: list[DataSource],
                  *, system_prompt: str = "", max_tokens: int = DEFAULT_MAX_TOKENS,
                  seed: int = 0) -> TrainingData:
    """"Answer like this": each pair in the model's chat format, loss on the response only."""
    examples: list[Example] = []
    notes: list[str] = []
    for pair in pairs:
        ids, prompt_len = _pair_tokens(tokenizer, pair, system_prompt)
        if prompt_len >= max_tokens - 8:
            notes.append(f"{pair.origin}: left out, its prompt alone is over {max_tokens} tokens")
            continue
        if len(ids) > max_tokens:
            notes.append(f"{pair.origin}: response cut to fit {max_tokens} tokens")
            ids = ids[:max_tokens]
        labels = [IGNORE] * prompt_len + ids[prompt_len:]
        examples.append(Example(ids, labels, pair.origin,
                                f"{pair.prompt}\n→ {pair.response}"))
    return _split("pairs", examples, sources, system_prompt, notes, seed)


def jsonl_source(path: Path, pairs: Sequence[Pair]) -> DataSource:
    """The card's record of a pairs file."""
    return DataSource("pairs", str(path.resolve()), _sha256(path), (), len(pairs))


def _pair_tokens(tokenizer: ModelTokenizer, pair: Pair, system_prompt: str) -> tuple[list[int],
                                                                                       int]:
    """Token ids of the whole exchange, and how many of them are the prompt."""
    messages: list[Any] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": pair.prompt})
    prompt_text = tokenizer.render(messages, add_generation_prompt=True)
    full_text = tokenizer.render(
        [*messages, {"role": "assistant", "content": pair.response}], add_generation_prompt=False)
    prompt_ids = tokenizer.tokenize(prompt_text, bos=True)
    if not full_text.startswith(prompt_text):  # a template that writes turns differently
        full_text = prompt_text + pair.response + tokenizer.template_eos
    full_ids = tokenizer.tokenize(full_text, bos=True)
    if full_ids[:len(prompt_ids)] == prompt_ids:
        return full_ids, len(prompt_ids)
    # The boundary merged into one token: tokenize the response on its own, as generation
    # produces it after the prompt.
    return prompt_ids + tokenizer.tokenize(full_text[len(prompt_text):]), len(prompt_ids)


def _split(kind: str, examples: list[Example], sources: list[DataSource], system_prompt: str,
           notes: list[str], seed: int) -> TrainingData:
    if len(examples) < MIN_EXAMPLES:
        raise TrainingError(
            f"Too little data: {len(examples)} example(s), and training needs at least "
            f"{MIN_EXAMPLES} (a tenth is held out to measure the result). Add more texts or "
            "pairs; nothing was trained.")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_heldout = max(1, round(len(examples) * HELD_OUT_SHARE))
    heldout_ids = set(order[:n_heldout])
    train = [e for i, e in enumerate(examples) if i not in heldout_ids]
    heldout = [e for i, e in enumerate(examples) if i in heldout_ids]
    return TrainingData(kind, train, heldout, sources, system_prompt, notes)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
