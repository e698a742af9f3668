"""JSON output constrained by a JSON schema grammar, fast enough to run after every turn.

llama-cpp-python checks the grammar against the whole vocabulary for every token (≈100 ms a token
with a 49k vocabulary on two cores). Here the grammar is first asked about the few most likely
tokens only, and about the whole vocabulary only when none of those fits — the shortcut llama.cpp's
own tools take. The output is the same as full-vocabulary greedy decoding under the grammar.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Sequence
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp.llama_grammar import json_schema_to_gbnf

from assistant.engine.chat_template import Message
from assistant.engine.model import LocalModel
from assistant.errors import ModelError

SHORTLIST = 48  # candidates checked against the grammar before falling back to all tokens
_gbnf_cache: dict[str, str] = {}


def generate_json(model: LocalModel, messages: Sequence[Message], schema: dict[str, Any],
                  max_tokens: int = 160) -> str:
    """Greedy text for ``messages`` that the grammar of ``schema`` allows (may be cut off at
    ``max_tokens``: bound the schema's arrays and strings so that it closes in time).

    Runs beside the conversation: its cached prompt is kept for the next turn."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _gbnf_cache:
        _gbnf_cache[key] = json_schema_to_gbnf(key)
    with model.preserving_cache():
        llama = model.llama
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        grammar = llama_cpp.llama_sampler_init_grammar(vocab, _gbnf_cache[key].encode(), b"root")
        if not grammar:
            raise ModelError("The output grammar for structured answers could not be built.")
        try:
            return _decode(model, vocab, grammar, model.prompt_tokens(messages), max_tokens)
        finally:
            llama_cpp.llama_sampler_free(grammar)


def _decode(model: LocalModel, vocab: Any, grammar: Any, prompt: list[int],
            max_tokens: int) -> str:
    llama = model.llama
    n_vocab = llama.n_vocab()
    llama.reset()
    llama.eval(prompt)
    pieces: list[bytes] = []
    for _ in range(min(max_tokens, model.n_ctx - len(prompt))):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama.ctx, -1),
                                       shape=(n_vocab,))
        shortlist = np.argpartition(-logits, SHORTLIST)[:SHORTLIST]
        token = _best_allowed(grammar, shortlist, logits)
        if token is None:
            token = _best_allowed(grammar, np.arange(n_vocab), logits)
        if token is None or llama_cpp.llama_vocab_is_eog(vocab, token):
            break  # the grammar is complete
        llama_cpp.llama_sampler_accept(grammar, token)
        pieces.append(llama.detokenize([token]))
        llama.eval([token])
    return b"".join(pieces).decode("utf-8", errors="replace")


def _best_allowed(grammar: Any, candidates: np.ndarray, logits: np.ndarray) -> int | None:
    """The most likely of ``candidates`` that the grammar accepts next, or None."""
    size = len(candidates)
    data = (llama_cpp.llama_token_data * size)()
    view = np.ctypeslib.as_array(data)  # a structured view: id, logit, p
    view["id"] = candidates
    view["logit"] = logits[candidates]
    view["p"] = 0.0
    array = llama_cpp.llama_token_data_array(data=data, size=size, selected=-1, sorted=False)
    llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))
    allowed = np.isfinite(view["logit"][: array.size])
    if not allowed.any():
        return None
    best = int(np.argmax(np.where(allowed, view["logit"][: array.size], -np.inf)))
    return int(view["id"][best])
