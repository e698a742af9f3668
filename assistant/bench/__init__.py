"""Benchmarks and the synthetic test material they use (tiny GGUF models, LoRA files, corpora).

Kept apart from the runtime core: nothing in the app imports this package; `loremind bench …`
and the tests do.
"""
