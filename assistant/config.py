"""Typed settings, stored as TOML in the config folder; every key has a default.

A wrong value is reported with its key and file, so the user can fix it by hand.
Secrets (API keys for remote back ends) never go in the TOML file: see :mod:`assistant.secrets`.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import tomli_w

from assistant.errors import ConfigError
from assistant.json_shapes import nesting, short
from assistant.setting_ranges import check_range, check_text
from assistant.user_files import read_user_file

MAX_FILE_BYTES = 1024 * 1024  # a settings file is a few KB
MAX_DEPTH = 16  # tables and arrays inside each other; Loremind's own settings use four

GpuLayers = int | Literal["auto"]


@dataclass
class RemoteSettings:
    """An OpenAI-compatible server that answers instead of the local model; its API key is in
    the system keyring (``loremind remote key URL``), never here."""

    base_url: str = ""  # e.g. "http://gpu-box:8080/v1"
    model: str = ""  # the name the server knows the model by; empty: the first it lists
    context_size: int = 0  # 0: ask the server (llama_cpp.server does not say: set it)
    local_copy: str = ""  # a GGUF copy of the server's model: exact token counts, adapter checks
    lora: Literal["auto", "per_request", "fixed", "none"] = "auto"  # auto: ask /lora-adapters
    server_adapters: list[str] = field(default_factory=list)  # "NAME[:SCALE]" fixed at start
    # Limits on the server's replies (assistant/engine/remote_limits.py): a reply must start
    # (and one not streamed must end) within timeout_s, an answer's pieces may be at most
    # idle_timeout_s apart, and a whole answer may take answer_timeout_s.
    timeout_s: float = 120.0
    connect_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    answer_timeout_s: float = 600.0


@dataclass
class ModelSettings:
    """Which GGUF file to run and how to place it on this machine, or which server to ask."""

    path: str = ""  # empty: the embedded SmolLM2-135M-Instruct
    context_size: int = 4096
    threads: int = 0  # 0: let llama.cpp choose
    gpu_layers: GpuLayers = "auto"
    engine: Literal["local", "remote"] = "local"
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    # Saved KV states of recently used chats (going back to one does not re-read it).
    chat_state_mb: int = 512


@dataclass
class GenerationSettings:
    """Sampling defaults and the system prompt."""

    system_prompt: str = (
        "You are Loremind, a helpful assistant running privately on the user's computer. "
        "Answer concisely."
    )
    temperature: float = 0.2  # low: small local models wander at higher temperatures
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int = -1  # -1: a new random seed each start; set one for repeatable answers


@dataclass
class AdapterSettings:
    """Folders of LoRA adapters besides ``<data>/adapters``, and how many MB stay loaded."""

    folders: list[str] = field(default_factory=list)
    max_resident_mb: int = 1024


@dataclass
class KnowledgeSettings:
    """Watched folders and what to leave out of them."""

    folders: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    max_file_mb: int = 50
    # A document still being read after this long is skipped, so the folder behind it goes on.
    max_read_seconds: float = 120.0
    # How long the model may spend reading an answer's sources, at its measured prompt speed:
    # more seconds, more passages (a slow machine's answers wait longer but find more).
    source_seconds: float = 4.0
    # The retrieval models: a catalogue name of a downloaded model or a GGUF file; empty, the
    # built-in all-MiniLM-L6-v2 embedder and no reranker.
    embedder: str = ""
    reranker: str = ""
    # The most a reranker may add to a search, in milliseconds: it scores the best candidates
    # first and stops when the budget is spent.
    rerank_budget_ms: int = 400


@dataclass
class MemorySettings:
    """Whether proposed memories wait for approval, and whether memory is paused."""

    mode: Literal["ask", "auto"] = "ask"
    paused: bool = False


@dataclass
class UiSettings:
    """Look and desktop behaviour."""

    appearance: Literal["system", "light", "dark"] = "system"
    close_to_tray: bool = False
    first_run_shown: bool = False  # the screen that offers a real model instead of the demo


@dataclass
class StoreSettings:
    """Where the database lives: the local data folder, or a shared object-storage URI that one
    machine writes and others read. Credentials come from the keyring or the environment."""

    uri: str = ""  # empty: <data>/db; else e.g. "s3://bucket/loremind"
    endpoint: str = ""  # an S3-compatible endpoint (MinIO, Ceph…); empty: AWS
    region: str = ""
    allow_http: bool = False  # plain http to the endpoint (a server on the local network)


@dataclass
class ConnectSettings:
    """Other apps reaching Loremind (an MCP server and an OpenAI-compatible API on one port).
    Off until the user turns it on; each app needs its own token (Settings → Connections)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    allow_network: bool = False  # listen beyond this computer (a host that is not loopback)
    knowledge: bool = True  # API answers may cite documents (each app's own permissions apply)
    memory: bool = True  # API answers may use memories (for apps allowed to read them)


@dataclass
class Settings:
    """All settings; ``Settings()`` is the default configuration."""

    model: ModelSettings = field(default_factory=ModelSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    adapters: AdapterSettings = field(default_factory=AdapterSettings)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    ui: UiSettings = field(default_factory=UiSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    connect: ConnectSettings = field(default_factory=ConnectSettings)


def load_settings(path: Path) -> Settings:
    """Read settings from ``path``; a missing file means the defaults."""
    if not path.exists():
        return Settings()
    data = read_user_file(path, max_bytes=MAX_FILE_BYTES, what="a settings file",
                          error=ConfigError)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Cannot read the settings file {path}: it is not UTF-8 text.") \
            from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The settings file {path} is not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"The settings file {path} nests arrays or tables more than "
                          f"{MAX_DEPTH} levels deep.") from exc
    if nesting(raw) > MAX_DEPTH:
        raise ConfigError(f"The settings file {path} nests arrays or tables more than "
                          f"{MAX_DEPTH} levels deep.")
    return _build(Settings, raw, "", path)


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings to ``path`` atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(dataclasses.asdict(settings)), encoding="utf-8")
    tmp.replace(path)


def _build(cls: type, raw: Any, prefix: str, path: Path) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"Setting '{prefix.rstrip('.')}' in {path} must be a table.")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"Unknown setting '{prefix}{unknown[0]}' in {path}.")
    values = {}
    for name, value in raw.items():
        kind = hints[name]
        key = f"{prefix}{name}"
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            values[name] = _build(kind, value, key + ".", path)
        else:
            values[name] = _check(kind, value, key, path)
    return cls(**values)


def _check(kind: Any, value: Any, key: str, path: Path) -> Any:
    if _matches(kind, value):
        return check_text(key, check_range(key, value, path), path)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return check_range(key, float(value), path)
    raise ConfigError(
        f"Setting '{key}' in {path} is {short(value)}, but it must be {_describe(kind)}."
    )


def _matches(kind: Any, value: Any) -> bool:
    origin = get_origin(kind)
    if origin is Literal:
        return value in get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(arg, value) for arg in get_args(kind))
    if origin is list:
        (item,) = get_args(kind)
        return isinstance(value, list) and all(_matches(item, v) for v in value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _describe(kind: Any) -> str:
    origin = get_origin(kind)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(kind))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in get_args(kind))
    if origin is list:
        return f"a list of {_describe(get_args(kind)[0])}"
    return {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}.get(
        kind, str(kind)
    )


def with_engine_url(settings: ModelSettings, url: str | None) -> ModelSettings:
    """``settings`` switched to the server at ``url`` (``--engine URL``); unchanged when None.
    ``local`` as the URL means the in-process engine."""
    if url is None:
        return settings
    if url == "local":
        return dataclasses.replace(settings, engine="local")
    remote = dataclasses.replace(settings.remote, base_url=url)
    return dataclasses.replace(settings, engine="remote", remote=remote)
