"""The fast GGUF header reader says what the gguf package's reader says, and refuses damage."""

from __future__ import annotations

import gguf
import pytest

from assistant.defaults import embedded_chat_model
from assistant.engine.gguf_header import DamagedHeader, parse_header


def reference(path, max_array: int = 64) -> tuple[dict, dict]:
    """Metadata and tensors as the gguf package reads them."""
    reader = gguf.GGUFReader(path, "r")
    metadata = {key: value.contents() for key, value in reader.fields.items()
                if not key.startswith("GGUF.")
                and not (value.types and value.types[0] == gguf.GGUFValueType.ARRAY
                         and len(value.data) > max_array)}
    tensors = {t.name: (tuple(int(d) for d in reversed(t.shape.tolist())),
                        int(t.data_offset), int(t.n_bytes)) for t in reader.tensors}
    return metadata, tensors


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_the_header_reads_as_the_gguf_package_reads_it(which, tiny_model_path):
    path = tiny_model_path if which == "tiny" else embedded_chat_model()
    header = parse_header(path)
    metadata, tensors = reference(path)
    assert header.metadata == metadata
    assert {t.name: (t.shape, t.data_offset, t.n_bytes) for t in header.tensors} == tensors
    assert "tokenizer.ggml.tokens" not in header.metadata  # the vocabulary is stepped over


def test_a_header_cut_inside_the_vocabulary_is_damaged(tmp_path, tiny_model_path):
    data = tiny_model_path.read_bytes()
    cut = data.index(b"<0x41>")  # a byte token, well inside tokenizer.ggml.tokens
    broken = tmp_path / "cut.gguf"
    broken.write_bytes(data[:cut])
    with pytest.raises(DamagedHeader, match="past the end|ends early"):
        parse_header(broken)


def test_an_unknown_value_type_is_damaged(tmp_path, tiny_model_path):
    data = bytearray(tiny_model_path.read_bytes())
    key = b"general.architecture"
    at = data.index(key) + len(key)  # the value type follows the key
    data[at:at + 4] = (99).to_bytes(4, "little")
    broken = tmp_path / "odd.gguf"
    broken.write_bytes(bytes(data))
    with pytest.raises(DamagedHeader, match="unknown type 99"):
        parse_header(broken)
