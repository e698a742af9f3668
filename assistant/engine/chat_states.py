"""Saved KV states of recently used chats, so that going back to one does not re-read it.

A state is the KV cells of llama.cpp's sequence 0 and the tokens they hold. It belongs to one
model and one adapter set (the cache does not know which weights computed it): the key names
the chat and its adapter set, the tokens are checked against the next prompt, and a new model
starts with an empty cache of its own. llama-cpp-python's ``save_state`` is not used: it also
copies the logits buffer (n_tokens × vocabulary floats, ~300 MB for 1,500 tokens of a 49k
vocabulary), where the sequence state holds only the used cells (~23 kB a token for
SmolLM2-135M, ~0.13 MB for a 7B GQA model).
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import llama_cpp
import numpy as np

MB = 1024 * 1024


@dataclass(frozen=True)
class SavedState:
    """The KV cells of one chat and the token ids they were computed from."""

    tokens: np.ndarray  # int token ids, in order
    data: bytes

    @property
    def nbytes(self) -> int:
        """Memory this state holds."""
        return len(self.data) + int(self.tokens.nbytes)


def capture(llama: llama_cpp.Llama) -> SavedState:
    """Copy sequence 0's KV cells and tokens out of ``llama`` (the caller holds its lock)."""
    ctx = llama.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    used = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
    return SavedState(llama.input_ids[: llama.n_tokens].copy(), bytes(buffer)[:used])


def restore(llama: llama_cpp.Llama, state: SavedState) -> bool:
    """Put ``state`` back as the only content of the cache; False (cache empty) if llama.cpp
    refused it. The next ``generate`` decodes at least one token, so the logits are fresh."""
    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llama.ctx), True)
    n_tokens = len(state.tokens)
    ok = bool(n_tokens) and bool(state.data)
    if ok:
        buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        ok = bool(llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(state.data), 0))
    llama.n_tokens = n_tokens if ok else 0
    if ok:
        llama.input_ids[:n_tokens] = state.tokens
    llama._requires_eval = True  # the logits on hand belong to whatever ran before
    return ok


class ChatStates:
    """A least-recently-used set of saved states within a byte budget; thread-safe."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = max(0, budget_bytes)
        self._states: OrderedDict[Hashable, SavedState] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def used_bytes(self) -> int:
        """Bytes held by the saved states."""
        with self._lock:
            return sum(s.nbytes for s in self._states.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)

    def put(self, key: Hashable, state: SavedState) -> bool:
        """Keep ``state`` under ``key`` (replacing any older one), evicting the least recently
        used states until the budget holds; False when it alone exceeds the budget."""
        with self._lock:
            self._states.pop(key, None)
            if state.nbytes > self.budget_bytes:
                return False
            used = sum(s.nbytes for s in self._states.values())
            while self._states and used + state.nbytes > self.budget_bytes:
                _, evicted = self._states.popitem(last=False)
                used -= evicted.nbytes
            self._states[key] = state
            return True

    def take(self, key: Hashable) -> SavedState | None:
        """Remove and return the state saved under ``key`` (it is stale once the chat goes
        on, and a fresh one is saved when the chat is left again)."""
        with self._lock:
            return self._states.pop(key, None)

    def forget_chat(self, session_id: str) -> None:
        """Drop the states saved for chat ``session_id`` (it is being deleted), whatever
        adapter set computed them."""
        with self._lock:
            for key in [k for k in self._states if _chat_of(k) == session_id]:
                del self._states[key]

    def clear(self) -> None:
        """Forget every saved state (the model or its weights changed)."""
        with self._lock:
            self._states.clear()


def _chat_of(key: Hashable) -> object:
    """The chat a state key names (keys are ``(session id, adapter set)``)."""
    return key[0] if isinstance(key, tuple) and key else key
