"""Loremind's core: engine, knowledge, memory and the assistant facade. Never imports Qt."""

import os

# llama.cpp and torch run OpenMP (libgomp) thread teams whose idle threads spin before they
# sleep. On a desktop, where the window, the embedder and other programs share the cores, long
# spins starve everyone: on 2 cores with one other busy process, generation ran at 3 tokens/s
# with libgomp's default spin count and at 19 with 3000, while an idle machine gave 76 either
# way. It must be set before either library starts its OpenMP runtime, hence here; a user's own
# setting wins.
os.environ.setdefault("GOMP_SPINCOUNT", "3000")

__version__ = "0.1.0"
