"""A trained PEFT LoRA written as a GGUF adapter that llama.cpp loads.

Names: PEFT's ``…layers.N.self_attn.q_proj.lora_A.weight`` becomes ``blk.N.attn_q.weight.lora_a``
(numpy shape (rank, n_in)) and ``lora_B`` becomes ``….lora_b`` ((n_out, rank)).
``adapter.lora.alpha`` is PEFT's ``lora_alpha``, so llama.cpp's alpha / rank equals PEFT's scaling.

Layout: transformers undoes llama.cpp's q/k row permutation when it reads a llama GGUF, so the
LoRA is trained in Hugging Face layout. Its product B·A changes the output rows of q and k, which
llama.cpp keeps permuted: the rows of ``lora_b`` are permuted the way llama.cpp's converter
permutes q/k weights. ``lora_a`` acts on inputs and is unchanged (tests/training compare logits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from assistant.engine.gguf_file import GGUFFile
from assistant.errors import TrainingError

GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v",
              "o_proj": "attn_output", "gate_proj": "ffn_gate", "up_proj": "ffn_up",
              "down_proj": "ffn_down"}
_PEFT_KEY = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$")


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's q/k permutation of output rows (its converter's ``LlamaModel.permute``)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return (weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def gguf_lora_tensors(state: Mapping[str, Any], base: GGUFFile, *,
                      permute_qk: bool) -> dict[str, np.ndarray]:
    """GGUF tensor name -> float32 array for every LoRA matrix in a PEFT state dict."""
    arch = base.architecture
    n_head = int(base.metadata[f"{arch}.attention.head_count"])
    n_head_kv = int(base.metadata.get(f"{arch}.attention.head_count_kv") or n_head)
    tensors: dict[str, np.ndarray] = {}
    for key, value in state.items():
        match = _PEFT_KEY.search(key)
        if not match:
            continue
        block, module, half = match.groups()
        if module not in GGUF_NAMES:
            raise TrainingError(f"The adapter trains '{module}', which has no GGUF name here.")
        array = value.detach().float().cpu().numpy() if hasattr(value, "detach") \
            else np.asarray(value, dtype=np.float32)
        if half == "B" and permute_qk and module in ("q_proj", "k_proj"):
            array = permute_rows(array, n_head, n_head if module == "q_proj" else n_head_kv)
        name = f"blk.{block}.{GGUF_NAMES[module]}.weight.lora_{half.lower()}"
        tensors[name] = np.ascontiguousarray(array, dtype=np.float32)
    if not tensors:
        raise TrainingError("The trained adapter holds no LoRA weights to export.")
    return tensors


def write_gguf_lora(path: Path, tensors: Mapping[str, np.ndarray], base: GGUFFile, *,
                    alpha: float, name: str) -> Path:
    """Write ``tensors`` as a GGUF LoRA adapter for ``base`` at ``path``."""
    writer = gguf.GGUFWriter(str(path), base.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name(name)
    writer.add_uint32(gguf.Keys.General.BASE_MODEL_COUNT, 1)
    writer.add_string(gguf.Keys.General.BASE_MODEL_NAME.format(id=0),
                      base.name or base.path.stem)
    for tensor_name in sorted(tensors):
        writer.add_tensor(tensor_name, tensors[tensor_name])
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except OSError as exc:
        raise TrainingError(f"Cannot write the adapter {path}: {exc.strerror or exc}") from exc
    finally:
        writer.close()
    return path


def export_peft(model: Any, path: Path, base: GGUFFile, *, alpha: float, name: str,
                permute_qk: bool) -> Path:
    """Export the LoRA weights of a PEFT ``model`` to a GGUF adapter at ``path``."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(model, save_embedding_layers=False)
    tensors = gguf_lora_tensors(state, base, permute_qk=permute_qk)
    return write_gguf_lora(path, tensors, base, alpha=alpha, name=name)
