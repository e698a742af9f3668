"""Write small GGUF files: a random llama-architecture model and LoRA adapters for any base.

Tests and benchmarks make their models here instead of downloading them. The tiny model is
random (its answers are noise) but it is a real GGUF file that llama.cpp loads and runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import gguf
import numpy as np

from assistant.engine.gguf_file import GGUFFile

TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
_WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "is", "blue", "red", "Paris",
          "France", "capital", "of", "hello", "world", "yes", "no", "and", "to"]


def write_tiny_model(
    path: Path,
    *,
    embedding: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    feed_forward: int = 128,
    context: int = 512,
    chat_template: str | None = TINY_CHAT_TEMPLATE,
    architecture: str = "llama",
    seed: int = 0,
) -> Path:
    """Write a random llama-architecture model with an SPM vocabulary (byte tokens included)."""
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocabulary()
    vocab = len(tokens)
    head_dim = embedding // heads
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name("tiny-test-model")
    writer.add_context_length(context)
    writer.add_embedding_length(embedding)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    if chat_template:
        writer.add_chat_template(chat_template)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(vocab, embedding))
    writer.add_tensor("output_norm.weight", np.ones(embedding, dtype=np.float32))
    writer.add_tensor("output.weight", weight(vocab, embedding))
    for shape_name, shape in _block_shapes(embedding, heads, kv_heads, feed_forward).items():
        for block in range(layers):
            name = f"blk.{block}.{shape_name}.weight"
            if len(shape) == 1:
                writer.add_tensor(name, np.ones(shape, dtype=np.float32))
            else:
                writer.add_tensor(name, weight(*shape))
    finish_writer(writer)
    return path


def write_lora(
    path: Path,
    base: GGUFFile,
    *,
    targets: Iterable[str] = ("attn_q", "attn_v"),
    rank: int = 4,
    alpha: float = 8.0,
    strength: float = 0.5,
    seed: int = 1,
    name: str | None = None,
    architecture: str | None = None,
    task_name: str | None = None,
    prompt_prefix: str | None = None,
    base_model_name: str | None = None,
    dtype: type = np.float32,
) -> Path:
    """Write a random LoRA adapter for ``base`` on the named per-block tensors.

    ``lora_a`` is stored with numpy shape (rank, n_in) and ``lora_b`` with (n_out, rank), as
    llama.cpp expects; ``strength`` scales the change so that it is visible but not chaotic.
    ``dtype`` is the numpy type of the stored weights (float32 or float16 for usable files).
    """
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), architecture or base.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    writer.add_name(name or path.stem)
    if task_name:
        writer.add_string(gguf.Keys.Adapter.LORA_TASK_NAME, task_name)
    if prompt_prefix:
        writer.add_string(gguf.Keys.Adapter.LORA_PROMPT_PREFIX, prompt_prefix)
    if base_model_name:
        writer.add_uint32(gguf.Keys.General.BASE_MODEL_COUNT, 1)
        writer.add_string(gguf.Keys.General.BASE_MODEL_NAME.format(id=0), base_model_name)
    wanted = tuple(targets)
    for tensor, shape in base.tensors.items():
        if len(shape) != 2 or not tensor.startswith("blk.") or tensor.split(".")[2] not in wanted:
            continue
        n_out, n_in = shape
        stem = tensor.removesuffix(".weight")
        # Cast last: numpy 2 turns float32 * np.float64 into float64, which llama.cpp can't use.
        lora_a = (rng.standard_normal((rank, n_in)) * strength / np.sqrt(n_in)).astype(dtype)
        lora_b: np.ndarray = (rng.standard_normal((n_out, rank)) * strength).astype(dtype)
        writer.add_tensor(f"{stem}.weight.lora_a", lora_a)
        writer.add_tensor(f"{stem}.weight.lora_b", lora_b)
    finish_writer(writer)
    return path


def _block_shapes(embedding: int, heads: int, kv_heads: int, ff: int) -> dict[str, tuple]:
    kv = embedding // heads * kv_heads
    return {
        "attn_norm": (embedding,),
        "attn_q": (embedding, embedding),
        "attn_k": (kv, embedding),
        "attn_v": (kv, embedding),
        "attn_output": (embedding, embedding),
        "ffn_norm": (embedding,),
        "ffn_gate": (ff, embedding),
        "ffn_up": (ff, embedding),
        "ffn_down": (embedding, ff),
    }


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    pieces = ["▁" + w for w in _WORDS] + list("abcdefghijklmnopqrstuvwxyz") + ["▁"]
    tokens += pieces
    types += [gguf.TokenType.NORMAL] * len(pieces)
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))]
    return tokens, scores, [int(t) for t in types]


def finish_writer(writer: gguf.GGUFWriter) -> None:
    """Write the header, metadata and tensors, and close the file."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
