"""Models of real shape: a random GGUF with a catalogue model's exact architecture, tensor sizes
and vocabulary size, quantized by llama.cpp to the catalogue's type.

llama.cpp's speed does not depend on the weights' values, so such a file times exactly like the
real model (its answers are noise). The vocabulary is SmolLM2's byte-level BPE (the one real
tokenizer shipped here) padded with unused tokens to the model's size, so prompts tokenize to
about as many tokens as with the real model's own tokenizer, and the output layer is as wide.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np

from assistant.defaults import embedded_chat_model
from assistant.engine.gguf_header import parse_header
from assistant.errors import LoremindError
from assistant.models.catalogue import CatalogueEntry, ModelShape, load_catalogue

log = logging.getLogger(__name__)

# Random values are drawn once and reused at random offsets: drawing 8 billion of them would
# take minutes, and speed is blind to them all the same.
_POOL_VALUES = 1 << 24
_WEIGHT_SCALE = 0.02


def shaped_entries() -> list[CatalogueEntry]:
    """The catalogue's models whose shape this module can write."""
    return [e for e in load_catalogue().entries if e.shape is not None]


def shape_entry(name: str) -> CatalogueEntry:
    """The catalogue entry called ``name``, which must carry a shape."""
    entry = load_catalogue().get(name)
    if entry is None or entry.shape is None:
        known = ", ".join(e.name for e in shaped_entries())
        raise LoremindError(f"No model shape called “{name}”. Choose one of: {known}.")
    return entry


def shaped_model(name: str, cache: Path) -> Path:
    """The random model of ``name``'s shape and quantization, written into ``cache`` the first
    time (a few minutes for an 8B shape) and reused afterwards."""
    entry = shape_entry(name)
    assert entry.shape is not None
    quantization = entry.quantization or "Q4_K_M"
    folder = cache / "shaped-models"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{entry.name}-random-{quantization}.gguf"
    if final.is_file():
        return final
    unquantized = folder / f"{entry.name}-random-F16.gguf.part"
    quantized = final.with_name(final.name + ".part")
    try:
        log.info("Writing a random model of %s's shape to %s", entry.name, unquantized)
        write_shaped_model(unquantized, entry.shape, entry.name, entry.context_length)
        quantize(unquantized, quantized, quantization)
        quantized.replace(final)
    finally:
        unquantized.unlink(missing_ok=True)
        quantized.unlink(missing_ok=True)
    return final


def write_shaped_model(path: Path, shape: ModelShape, name: str, context: int,
                       seed: int = 0) -> Path:
    """Write a random F16 model of ``shape`` (norms in F32), one tensor at a time."""
    rng = np.random.default_rng(seed)
    pool = (rng.standard_normal(_POOL_VALUES) * _WEIGHT_SCALE).astype(np.float16)
    tokens, types, merges, template = _padded_vocabulary(shape.vocab)
    silent = _silent_tokens(tokens, types)
    writer = gguf.GGUFWriter(str(path), shape.architecture)
    writer.add_name(f"random weights in the shape of {name}")
    writer.add_context_length(context)
    writer.add_embedding_length(shape.embedding)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.feed_forward)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(1e-6 if shape.architecture == "qwen2" else 1e-5)
    writer.add_vocab_size(shape.vocab)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(template)
    tensors = list(_tensor_shapes(shape))
    for tensor, dims in tensors:
        dtype = np.float32 if len(dims) == 1 else np.float16
        writer.add_tensor_info(tensor, dims, np.dtype(dtype),
                               int(np.prod(dims)) * np.dtype(dtype).itemsize)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    output = "token_embd.weight" if shape.tied_output else "output.weight"
    for tensor, dims in tensors:
        values = _values(tensor, dims, pool, rng)
        if tensor == output:
            # Zero logits for tokens that print nothing on their own (control and padding
            # tokens, pieces of a UTF-8 character): random logits elsewhere beat them, so
            # every generated token is one piece of text, as a real model's mostly are.
            values[silent] = 0
        writer.write_tensor_data(values)
    writer.close()
    return path


def quantize(source: Path, target: Path, quantization: str) -> None:
    """Quantize ``source`` to ``quantization`` (llama.cpp's name, e.g. Q4_K_M) with llama.cpp's
    own quantizer, on every core."""
    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quantization.upper()}", None)
    if ftype is None:
        raise LoremindError(f"llama.cpp has no quantization called {quantization}.")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count() or 1
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if status != 0:
        raise LoremindError(f"llama.cpp could not quantize {source.name} to {quantization} "
                            f"(status {status}).")


def _tensor_shapes(shape: ModelShape) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every tensor's name and numpy shape (n_out, n_in), in llama.cpp's naming."""
    kv = shape.head_dim * shape.kv_heads
    yield "token_embd.weight", (shape.vocab, shape.embedding)
    yield "output_norm.weight", (shape.embedding,)
    if not shape.tied_output:
        yield "output.weight", (shape.vocab, shape.embedding)
    for block in range(shape.layers):
        prefix = f"blk.{block}"
        yield f"{prefix}.attn_norm.weight", (shape.embedding,)
        yield f"{prefix}.attn_q.weight", (shape.heads * shape.head_dim, shape.embedding)
        yield f"{prefix}.attn_k.weight", (kv, shape.embedding)
        yield f"{prefix}.attn_v.weight", (kv, shape.embedding)
        if shape.architecture == "qwen2":  # Qwen2 adds a bias to q, k and v
            yield f"{prefix}.attn_q.bias", (shape.heads * shape.head_dim,)
            yield f"{prefix}.attn_k.bias", (kv,)
            yield f"{prefix}.attn_v.bias", (kv,)
        yield f"{prefix}.attn_output.weight", (shape.embedding, shape.heads * shape.head_dim)
        yield f"{prefix}.ffn_norm.weight", (shape.embedding,)
        yield f"{prefix}.ffn_gate.weight", (shape.feed_forward, shape.embedding)
        yield f"{prefix}.ffn_up.weight", (shape.feed_forward, shape.embedding)
        yield f"{prefix}.ffn_down.weight", (shape.embedding, shape.feed_forward)


def _values(tensor: str, dims: tuple[int, ...], pool: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    if len(dims) == 1:  # norms are ones, biases zeros, as a freshly made model's
        fill = 0.0 if tensor.endswith(".bias") else 1.0
        return np.full(dims, fill, dtype=np.float32)
    start = int(rng.integers(0, pool.size))
    return np.resize(np.roll(pool, -start), dims)


def _silent_tokens(tokens: list[str], types: list[int]) -> np.ndarray:
    """Ids of the tokens that are not text by themselves: anything but a normal token, and
    byte-level pieces that are not whole UTF-8 characters."""
    to_byte = {char: byte for byte, char in _byte_level_alphabet().items()}
    silent = []
    for index, (token, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind != int(gguf.TokenType.NORMAL):
            silent.append(index)
            continue
        try:
            bytes(to_byte[c] for c in token).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            silent.append(index)
    return np.array(silent, dtype=np.int64)


def _byte_level_alphabet() -> dict[int, str]:
    """GPT-2's byte-level BPE alphabet: each byte as the printable character that stands for
    it in the tokens' strings."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    alphabet = {b: chr(b) for b in printable}
    extra = 0
    for byte in range(256):
        if byte not in alphabet:
            alphabet[byte] = chr(256 + extra)
            extra += 1
    return alphabet


def _padded_vocabulary(size: int) -> tuple[list[str], list[int], list[str], str]:
    """SmolLM2's tokens, token types and merges, padded with unused tokens to ``size``, and its
    chat template."""
    header = parse_header(embedded_chat_model(), max_array=1 << 20)
    meta = header.metadata
    tokens = list(meta["tokenizer.ggml.tokens"])
    types = [int(t) for t in meta["tokenizer.ggml.token_type"]]
    if size < len(tokens):
        raise LoremindError(f"A vocabulary of {size} tokens is smaller than the tokenizer's "
                            f"{len(tokens)}.")
    padding = size - len(tokens)
    tokens += [f"<|unused_{n}|>" for n in range(padding)]
    types += [int(gguf.TokenType.UNUSED)] * padding
    return tokens, types, list(meta["tokenizer.ggml.merges"]), meta["tokenizer.chat_template"]
