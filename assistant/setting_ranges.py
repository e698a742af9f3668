"""The ranges that numeric settings must fall in, and the length of text ones, checked when
the settings file is read.

A value of the right type can still crash or silently break the engine (``threads = 100000``
segfaulted llama.cpp, ``temperature = nan`` samples garbage, ``max_tokens = 0`` answers
nothing), so each number is checked here with the key named in the message; a text setting
(a path, an address, a name) may not be longer than any path is, nor hold a NUL, which no
file system takes (a 10 MB model path was accepted silently).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

# key: (lowest, highest); a bound of None is open.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "model.context_size": (128, 1 << 21),
    "model.threads": (0, 1024),  # 0: as many as the machine has; more are capped at its cores
    "model.gpu_layers": (-1, 100_000),  # -1: every layer
    "model.chat_state_mb": (0, 1 << 20),
    "model.remote.context_size": (0, 1 << 21),
    "model.remote.timeout_s": (1, 86_400),
    "model.remote.connect_timeout_s": (0.1, 3_600),
    "model.remote.idle_timeout_s": (1, 86_400),
    "model.remote.answer_timeout_s": (1, 86_400),
    "generation.temperature": (0, 5),
    "generation.top_p": (0, 1),
    "generation.top_k": (0, 1_000_000),
    "generation.min_p": (0, 1),
    "generation.repeat_penalty": (0, 10),
    "generation.max_tokens": (1, 1 << 21),
    "generation.seed": (-1, 2**32 - 1),
    "adapters.max_resident_mb": (0, 1 << 30),
    "knowledge.max_file_mb": (1, 1 << 20),
    "knowledge.max_read_seconds": (1, 86_400),
    "knowledge.source_seconds": (0.5, 600),
    "knowledge.rerank_budget_ms": (10, 60_000),
    "connect.port": (0, 65_535),  # 0: any free port (tests)
}


MAX_TEXT_CHARS = 4096  # PATH_MAX on Linux; paths, addresses and names fit
LONG_TEXT: dict[str, int] = {"generation.system_prompt": 100_000}
MAX_LIST_ITEMS = 1000


def check_text(key: str, value: Any, path: Path) -> Any:
    """Return ``value`` when it is not text (or a list of text) too long or holding a NUL;
    raise :class:`ConfigError` naming the key, the file and the limit otherwise."""
    texts = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
        raise ConfigError(f"Setting '{key}' in {path} lists {len(value)} items; at most "
                          f"{MAX_LIST_ITEMS} fit.")
    limit = LONG_TEXT.get(key, MAX_TEXT_CHARS)
    for text in texts:
        if not isinstance(text, str):
            continue
        if len(text) > limit:
            raise ConfigError(f"Setting '{key}' in {path} is {len(text):,} characters long; "
                              f"at most {limit:,} fit.")
        if "\x00" in text:
            raise ConfigError(f"Setting '{key}' in {path} holds a NUL character, which no file "
                              "name or address can hold.")
    return value


def check_range(key: str, value: Any, path: Path) -> Any:
    """Return ``value`` when it is a finite number within ``key``'s range (or not a number);
    raise :class:`ConfigError` naming the key, the file and the range otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"Setting '{key}' in {path} is {value!r}, but it must be a finite "
                          "number.")
    low, high = RANGES.get(key, (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"Setting '{key}' in {path} is {value!r}, but it must be "
                          f"{_describe(low, high)}.")
    return value


def _describe(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"at least {_number(low)}"
    return f"at most {_number(high or 0)}"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
