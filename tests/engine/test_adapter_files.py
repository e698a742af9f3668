"""Adapter files judged before llama.cpp sees them: bad ones are listed with a reason, refused
with an AdapterError, and never abort the process."""

from __future__ import annotations

import re

import gguf
import llama_cpp
import numpy as np
import pytest

from assistant.bench.synthetic import write_lora, write_tiny_model
from assistant.engine import LocalModel, read_gguf
from assistant.engine.adapter_files import AdapterCatalog, inspect_adapter
from assistant.engine.adapters import AdapterLibrary
from assistant.errors import AdapterError


@pytest.fixture(scope="module")
def base(tiny_model_path):
    return read_gguf(tiny_model_path)


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    model = LocalModel.load(tiny_model_path, context_size=128)
    yield model
    model.close()


def _write_adapter(path, base, tensors, **strings):
    """An adapter file written by hand, for shapes and keys ``write_lora`` does not make."""
    writer = gguf.GGUFWriter(str(path), base.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    for key, value in strings.items():
        writer.add_string(key, value)
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _half_pair(path, base):
    _write_adapter(path, base, {"blk.0.attn_q.weight.lora_a": np.zeros((4, 64), np.float32)})


def _truncated(path, base):
    write_lora(path, base)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


BAD_ADAPTERS = {
    "wrong-arch.gguf": (lambda p, b, tmp: write_lora(p, b, architecture="qwen2"),
                        "made for the 'qwen2' architecture"),
    "wrong-shapes.gguf": (lambda p, b, tmp: write_lora(
        p, read_gguf(write_tiny_model(tmp / "narrow.gguf", embedding=32))), "shapes"),
    "extra-layer.gguf": (lambda p, b, tmp: write_lora(
        p, read_gguf(write_tiny_model(tmp / "deep.gguf", layers=3))),
        "'blk.2.attn_q.weight', which the model does not have"),
    "full-model.gguf": (lambda p, b, tmp: write_tiny_model(p), "is a full model"),
    "truncated.gguf": (lambda p, b, tmp: _truncated(p, b), "truncated|damaged"),
    "notes.gguf": (lambda p, b, tmp: p.write_text("not a model\n" * 20), "not a GGUF file"),
    "adapter_model.safetensors": (lambda p, b, tmp: p.write_bytes(b"\0" * 64),
                                  "convert_lora_to_gguf"),
    "doubles.gguf": (lambda p, b, tmp: write_lora(p, b, dtype=np.float64),
                     "as F64, which llama.cpp cannot compute with"),
    "half-pair.gguf": (lambda p, b, tmp: _half_pair(p, b), "only one half"),
}


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory, base):
    folder = tmp_path_factory.mktemp("bad-adapters")
    scratch = tmp_path_factory.mktemp("scratch")
    for name, (make, _) in BAD_ADAPTERS.items():
        make(folder / name, base, scratch)
    write_lora(folder / "good.gguf", base)
    return folder


@pytest.mark.parametrize("file_name", sorted(BAD_ADAPTERS))
def test_bad_adapters_are_listed_with_a_reason_and_refused(file_name, bad_folder, tiny,
                                                           monkeypatch):
    catalog = AdapterCatalog([bad_folder], tiny.info)
    info = next(i for i in catalog.adapters if i.path.name == file_name)
    assert not info.compatible
    assert info.reason
    assert re.search(BAD_ADAPTERS[file_name][1], info.reason), info.reason

    def never(*args):
        raise AssertionError("a bad file reached llama.cpp")

    monkeypatch.setattr(llama_cpp, "llama_adapter_lora_init", never)
    library = AdapterLibrary(tiny, catalog)
    with pytest.raises(AdapterError, match="can't be used with"):
        library.apply([(info, 1.0)])
    monkeypatch.undo()
    library.apply([("good", 1.0)])  # the process and the model carry on
    assert tiny.tokenize("hello")
    library.close()


def test_a_file_llama_cpp_refuses_is_an_adapter_error(tmp_path, base, tiny):
    # Passes every header check, but llama.cpp's loader wants aLoRA tokens as a uint32 array.
    _write_adapter(tmp_path / "odd.gguf", base, {
        "blk.0.attn_q.weight.lora_a": np.full((4, 64), 0.01, np.float32),
        "blk.0.attn_q.weight.lora_b": np.full((64, 4), 0.01, np.float32),
    }, **{gguf.Keys.Adapter.ALORA_INVOCATION_TOKENS: "not tokens"})
    library = AdapterLibrary(tiny, AdapterCatalog([tmp_path], tiny.info))
    assert library.catalog.find("odd").compatible
    with pytest.raises(AdapterError, match="llama.cpp could not load"):
        library.apply([("odd", 1.0)])
    library.close()


def test_adapter_info_reads_the_header(tmp_path, base):
    path = write_lora(tmp_path / "x.gguf", base, rank=2, alpha=4, name="Polite", task_name="chat",
                      prompt_prefix="Be kind. ", base_model_name="tiny-test-model")
    info = inspect_adapter(path, base)
    assert info.compatible and info.reason == ""
    assert (info.name, info.architecture, info.rank, info.alpha) == ("Polite", "llama", 2, 4.0)
    assert info.targets == ("blk.0.attn_q.weight", "blk.0.attn_v.weight",
                            "blk.1.attn_q.weight", "blk.1.attn_v.weight")
    assert info.size_bytes == path.stat().st_size and len(info.content_hash) == 64
    assert info.base_model == {"base_model.count": "1", "base_model.0.name": "tiny-test-model"}
    assert (info.task_name, info.prompt_prefix) == ("chat", "Be kind. ")
    assert info.effective_scale(0.5) == pytest.approx(0.5 * 4 / 2)
    assert inspect_adapter(write_lora(tmp_path / "y.gguf", base, alpha=0), base) \
        .effective_scale(0.5) == 0.5


def test_refresh_notices_added_changed_and_removed_files(tmp_path, base):
    catalog = AdapterCatalog([tmp_path, tmp_path / "missing-folder"], base)
    assert catalog.adapters == []
    write_lora(tmp_path / "a.gguf", base, seed=1)
    (tmp_path / "sub").mkdir()
    write_lora(tmp_path / "sub" / "b.gguf", base, seed=2)
    (tmp_path / "readme.txt").write_text("notes")
    changes = catalog.refresh()
    assert sorted(i.name for i in changes.added) == ["a", "b"]
    old_hash = catalog.find("a").content_hash
    write_lora(tmp_path / "a.gguf", base, seed=3)
    (tmp_path / "sub" / "b.gguf").unlink()
    changes = catalog.refresh()
    assert [i.name for i in changes.changed] == ["a"]
    assert [i.name for i in changes.removed] == ["b"]
    assert catalog.find("a").content_hash != old_hash
    assert not catalog.refresh()


def test_find_by_name_file_name_or_path_and_ambiguity(tmp_path, base):
    write_lora(tmp_path / "one.gguf", base, name="Twin")
    write_lora(tmp_path / "two.gguf", base, name="Twin")
    catalog = AdapterCatalog([tmp_path], base)
    assert catalog.find("one").path.name == "one.gguf"
    assert catalog.find(str(tmp_path / "two.gguf")).path.name == "two.gguf"
    with pytest.raises(AdapterError, match="Several adapters are called 'Twin'"):
        catalog.find("Twin")
    write_lora(tmp_path / "late.gguf", base)
    assert catalog.find("late").compatible  # an unknown name re-scans once
