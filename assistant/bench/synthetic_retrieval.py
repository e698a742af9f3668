"""Write small retrieval GGUF files: a random BERT embedder and a random BERT reranker.

Like :mod:`assistant.bench.synthetic`'s chat model, these are random (their vectors and scores
mean nothing) but real GGUF files of the architecture llama.cpp runs for embedding and
reranking models (``bert``, with a WordPiece vocabulary and the metadata llama.cpp's own
converter writes for all-MiniLM-L6-v2), so the plumbing around them is tested without a
download.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from assistant.bench.synthetic import finish_writer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(len(SPECIAL))
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "is", "blue", "red", "paris", "france",
         "capital", "of", "hello", "world", "yes", "no", "and", "to", "search", "query",
         "document", "backup", "database", "restore", "what", "how", ":", ".", ",", "?", "-"]
PIECES = ["s", "ing", "ed", "er"]  # word-piece continuations ("##ing")
CLASSIFIER = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.CLS]  # "cls"
CLASSIFIER_OUT = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.CLS_OUT]  # "cls.output"


def write_tiny_embedder(path: Path, *, embedding: int = 32, layers: int = 2, heads: int = 4,
                        feed_forward: int = 64, context: int = 128,
                        pooling: gguf.PoolingType = gguf.PoolingType.MEAN,
                        seed: int = 0) -> Path:
    """A random BERT sentence embedder (mean pooling by default), ``embedding`` dimensions."""
    writer, weight = _bert_writer(path, "tiny-test-embedder", embedding, layers, heads,
                                  feed_forward, context, pooling, seed)
    _finish_bert(writer, weight, embedding, layers, feed_forward, context)
    return path


def write_tiny_reranker(path: Path, *, embedding: int = 32, layers: int = 2, heads: int = 4,
                        feed_forward: int = 64, context: int = 256, seed: int = 1) -> Path:
    """A random BERT cross-encoder: the [CLS] state through a dense layer (``cls``, tanh) and
    a one-score head (``cls.output``), pooled as llama.cpp's RANK does for bge-reranker."""
    writer, weight = _bert_writer(path, "tiny-test-reranker", embedding, layers, heads,
                                  feed_forward, context, gguf.PoolingType.RANK, seed)
    writer.add_tensor(f"{CLASSIFIER}.weight", weight(embedding, embedding))
    writer.add_tensor(f"{CLASSIFIER}.bias", weight(embedding))
    writer.add_tensor(f"{CLASSIFIER_OUT}.weight", weight(1, embedding))
    writer.add_tensor(f"{CLASSIFIER_OUT}.bias", weight(1))
    _finish_bert(writer, weight, embedding, layers, feed_forward, context)
    return path


def vocabulary() -> list[str]:
    """The WordPiece vocabulary in llama.cpp's "phantom space" form: a word-starting piece
    begins with ▁, a continuation ("##ing") has no prefix, special tokens stay as they are."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
    pieces = ["\u2581" + w for w in WORDS + letters] + PIECES + letters
    return SPECIAL + list(dict.fromkeys(pieces))  # each piece once: llama.cpp insists


def _bert_writer(path: Path, name: str, embedding: int, layers: int, heads: int, ff: int,
                 context: int, pooling: gguf.PoolingType,
                 seed: int) -> tuple[gguf.GGUFWriter, _Weights]:
    rng = np.random.default_rng(seed)
    tokens = vocabulary()
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_name(name)
    writer.add_context_length(context)
    writer.add_embedding_length(embedding)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_layer_norm_eps(1e-12)
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_token_type_count(2)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    types = [gguf.TokenType.CONTROL] * len(SPECIAL) + [gguf.TokenType.NORMAL] * (
        len(tokens) - len(SPECIAL))
    types[UNK] = gguf.TokenType.UNKNOWN
    writer.add_token_types([int(t) for t in types])
    writer.add_bos_token_id(CLS)
    writer.add_eos_token_id(SEP)
    writer.add_unk_token_id(UNK)
    writer.add_sep_token_id(SEP)
    writer.add_pad_token_id(PAD)
    writer.add_mask_token_id(MASK)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)
    writer.add_bool("tokenizer.ggml.normalizer.lowercase", True)
    return writer, _Weights(rng, len(tokens))


class _Weights:
    """Random float32 tensors of a given shape, small enough to keep activations finite."""

    def __init__(self, rng: np.random.Generator, vocab: int) -> None:
        self.rng = rng
        self.vocab = vocab

    def __call__(self, *shape: int) -> np.ndarray:
        return (self.rng.standard_normal(shape) * 0.2).astype(np.float32)


def _finish_bert(writer: gguf.GGUFWriter, weight: _Weights, embedding: int, layers: int,
                 ff: int, context: int) -> None:
    ones = np.ones(embedding, dtype=np.float32)
    writer.add_tensor("token_embd.weight", weight(weight.vocab, embedding))
    writer.add_tensor("token_types.weight", weight(2, embedding))
    writer.add_tensor("position_embd.weight", weight(context, embedding))
    writer.add_tensor("token_embd_norm.weight", ones)
    writer.add_tensor("token_embd_norm.bias", weight(embedding))
    for block in range(layers):
        stem = f"blk.{block}"
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{stem}.{part}.weight", weight(embedding, embedding))
            writer.add_tensor(f"{stem}.{part}.bias", weight(embedding))
        writer.add_tensor(f"{stem}.attn_output_norm.weight", ones)
        writer.add_tensor(f"{stem}.attn_output_norm.bias", weight(embedding))
        writer.add_tensor(f"{stem}.ffn_up.weight", weight(ff, embedding))
        writer.add_tensor(f"{stem}.ffn_up.bias", weight(ff))
        writer.add_tensor(f"{stem}.ffn_down.weight", weight(embedding, ff))
        writer.add_tensor(f"{stem}.ffn_down.bias", weight(embedding))
        writer.add_tensor(f"{stem}.layer_output_norm.weight", ones)
        writer.add_tensor(f"{stem}.layer_output_norm.bias", weight(embedding))
    finish_writer(writer)
