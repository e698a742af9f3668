"""Which base models can be trained, and why the others cannot.

Two conditions: transformers must read the GGUF architecture (its GGUF loader knows a fixed list),
and the exported adapter must have been checked against llama.cpp by logits (tests/training). An
architecture that passes the first but not the second is refused too: an adapter whose tensors
are mapped wrongly loads without error and silently computes something else.
"""

from __future__ import annotations

from assistant.engine.gguf_file import GGUFFile
from assistant.errors import TrainingError

# GGUF architecture -> how its attention rows are laid out relative to transformers' layout.
# "llama" covers Llama 1-3, Mistral 7B, SmolLM, TinyLlama and other models llama.cpp calls llama:
# llama.cpp's converter permutes their q/k rows, so lora_b of q and k is permuted on export.
VERIFIED = {"llama": "permuted_qk"}
# Read by transformers 5's GGUF loader (GGUF_SUPPORTED_ARCHITECTURES), but no exported adapter
# has been compared with llama.cpp's logits yet.
TRANSFORMERS_READS = frozenset({
    "mistral", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "gpt-oss", "lfm2", "falcon", "phi3",
    "bloom", "t5", "stablelm", "gpt2", "starcoder2", "mamba", "nemotron", "gemma2", "gemma3",
    "gemma4", "umt5", "deci", "minimax-m2",
})


def check_trainable(info: GGUFFile) -> None:
    """Raise :class:`TrainingError` with the reason when ``info`` cannot be trained here."""
    arch = info.architecture
    if arch in VERIFIED:
        return
    supported = ", ".join(sorted(VERIFIED))
    if arch in TRANSFORMERS_READS:
        raise TrainingError(
            f"{info.path.name} is a '{arch}' model. transformers can read it, but Loremind has "
            f"not yet verified adapters exported for '{arch}' against llama.cpp, and a wrongly "
            f"mapped adapter would silently change the answers. Training works with: "
            f"{supported} (Llama, Mistral, SmolLM, TinyLlama …).")
    raise TrainingError(
        f"{info.path.name} is a '{arch}' model, which transformers cannot load from GGUF, so it "
        f"cannot be trained here. Training works with: {supported} (Llama, Mistral, SmolLM, "
        "TinyLlama …).")


def permutes_qk(architecture: str) -> bool:
    """Whether llama.cpp stores this architecture's q/k rows permuted (so lora_b must be too)."""
    return VERIFIED.get(architecture) == "permuted_qk"
