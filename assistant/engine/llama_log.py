"""llama.cpp's own messages go to Loremind's log file, never onto the user's terminal.

Importing this module routes them (llama.cpp has one log for the whole process); the chat
engine and the llama.cpp embedder both import it.
"""

from __future__ import annotations

import ctypes
import logging

import llama_cpp

_llama_log = logging.getLogger("assistant.engine.llama_cpp")
# ggml levels: 1 debug, 2 info (chatty: kept at debug), 3 warning, 4 error, 5 continuation.
_LLAMA_LEVELS = {3: logging.WARNING, 4: logging.ERROR}


@llama_cpp.llama_log_callback
def _route_llama_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    _llama_log.log(_LLAMA_LEVELS.get(level, logging.DEBUG), "%s",
                   text.decode("utf-8", errors="replace").rstrip())


llama_cpp.llama_log_set(_route_llama_log, ctypes.c_void_p(0))
