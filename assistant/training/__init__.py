"""Teach: train a LoRA adapter on data the user picked, on the model in use, with a record of it.

    data        the user's texts or example pairs -> token ids with a loss mask, 10% held out
    tokens      the model's own tokenizer and chat template, read by llama.cpp (vocabulary only)
    job         a training job: its settings, folder and events; starts and watches the worker
    worker      ``python -m assistant.training.worker JOB_DIR``: the process that trains
    loop        the PEFT model and the training step, shared by the worker and the benchmark
    export      the trained LoRA as a GGUF adapter llama.cpp loads (q/k rows permuted back)
    evaluate    held-out loss measured by llama.cpp, with and without the exported adapter
    card        the JSON card beside each trained adapter: what it learned from, and how well

The modules are imported one by one: ``data`` and ``job`` never import torch, so the app and the
CLI stay light; only the worker process and the benchmark load torch and transformers.
"""
