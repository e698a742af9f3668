"""What the Models page's rows say: a base model's missing chat template, the built-in demo
model, and what deleting really does to a downloaded or an imported file."""

from __future__ import annotations

import os

from assistant.bench.synthetic import write_tiny_model
from assistant.defaults import embedded_chat_model
from assistant.engine import gguf_file
from assistant.models import ModelManager
from assistant.models.manager import BUILTIN
from assistant.paths import app_paths

QWEN_NAME = "qwen2.5-0.5b"


def manager() -> ModelManager:
    return ModelManager(app_paths().ensure())


def test_a_base_models_row_carries_the_note_the_core_gives(tmp_path, tiny_model_path):
    base = write_tiny_model(tmp_path / "base.gguf", chat_template=None)
    models = manager()
    models.import_file(base, "base")
    models.import_file(tiny_model_path, "chat")
    rows = {r.name: r for r in models.rows()}
    expected = gguf_file.read_gguf(base).template_note
    assert "no chat template" in expected and "base model" in expected
    assert rows["base"].template_note == expected
    assert rows["chat"].template_note == ""
    assert all(r.template_note == "" for r in rows.values() if not r.installed)


def test_template_notes_are_read_once_per_version_of_a_file(tmp_path, monkeypatch):
    path = write_tiny_model(tmp_path / "base.gguf", chat_template=None)
    models = manager()
    reads = []
    real = gguf_file.read_gguf
    monkeypatch.setattr(gguf_file, "read_gguf", lambda p: reads.append(p) or real(p))
    first = models.template_note(path)
    assert models.template_note(path) == first and len(reads) == 1
    write_tiny_model(path)  # replaced by a chat model: a new version of the file
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert models.template_note(path) == "" and len(reads) == 2


def test_the_built_in_demo_model_has_a_row_to_go_back_to(tiny_model_path):
    models = manager()
    row = models.builtin_row()
    assert row is not None and row.is_builtin and row.name == BUILTIN
    assert row.installed and row.in_use and row.path == str(embedded_chat_model())
    assert row.fit_note == "built in, always available" and row.template_note == ""
    models.use(str(tiny_model_path))
    assert not models.builtin_row().in_use
    assert all(not r.is_builtin for r in models.rows())  # `models list` stays the catalogue
    models.use_embedded()
    assert models.model_in_use() is None and models.builtin_row().in_use
    # an import never takes the built-in row's name
    assert models.import_file(tiny_model_path, BUILTIN).name != BUILTIN


def test_deleting_an_import_removes_loreminds_copy_and_says_the_original_stays(tmp_path):
    original = write_tiny_model(tmp_path / "mine.gguf")
    models = manager()
    model = models.import_file(original)
    row = next(r for r in models.rows() if r.name == model.name)
    assert row.source == "import" and row.origin == str(original.resolve())
    note = row.deletion_note
    assert f"your original file at {original.resolve()} is not touched" in note
    assert "Import it again" in note and "download" not in note
    models.remove(model.name)
    assert original.is_file() and not model.path.exists()


def test_deleting_a_download_says_it_can_be_downloaded_again(hub):
    models = manager()
    models.pull(QWEN_NAME)
    row = next(r for r in models.rows() if r.name == QWEN_NAME)
    assert row.source == "catalogue" and row.deletion_note == "You can download it again later."
    models.use(QWEN_NAME)
    row = next(r for r in models.rows() if r.name == QWEN_NAME)
    assert row.deletion_note.startswith("Loremind will answer with the embedded demo model")
