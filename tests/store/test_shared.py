"""A shared store in object storage: moto's S3 server on 127.0.0.1 as the bucket, two
LOREMIND_HOMEs as two machines (one writes, the other reads)."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import keyring
import pytest
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from assistant.cli import main
from assistant.config import Settings, StoreSettings, save_settings
from assistant.database import open_app_database
from assistant.errors import ReadOnlyStoreError
from assistant.paths import app_paths
from assistant.secrets import set_storage_credentials
from assistant.store.shared import credentials_name, storage_options
from tests.engine.remote_support import MemoryKeyring

BUCKET = "library"
KEY_ID, SECRET = "loremind-test", "not-a-real-secret"


@pytest.fixture(scope="module")
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID,
                 aws_secret_access_key=SECRET, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def shared(s3_endpoint):
    """Store settings for a fresh prefix in the bucket, credentials in the keyring."""
    settings = StoreSettings(uri=f"s3://{BUCKET}/{uuid.uuid4().hex}", endpoint=s3_endpoint)
    set_storage_credentials(credentials_name(settings), KEY_ID, SECRET)
    return settings


@pytest.fixture
def shared_embedder(embedder, monkeypatch):
    monkeypatch.setattr("assistant.knowledge.embedder.Embedder", lambda: embedder)
    return embedder


def _rounded(results: list[dict]) -> list[dict]:
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            for r in results]


def use_home(monkeypatch, home, store: StoreSettings):
    """Make ``home`` the LOREMIND_HOME, with ``store`` in its settings file."""
    monkeypatch.setenv("LOREMIND_HOME", str(home))
    save_settings(Settings(store=store), app_paths().ensure().config_file)


def test_options_come_from_the_keyring_and_settings(shared, s3_endpoint):
    options = storage_options(shared)
    assert options == {"aws_endpoint": s3_endpoint, "allow_http": "true",
                       "aws_region": "us-east-1", "aws_access_key_id": KEY_ID,
                       "aws_secret_access_key": SECRET}
    assert storage_options(StoreSettings(uri="/some/folder")) == {}


@pytest.mark.slow
def test_index_on_one_machine_search_from_another(tmp_path, monkeypatch, shared,
                                                  shared_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boat.md").write_text("# Harbour\n\nThe ferry to Stavanger leaves at 07:40 from "
                                  "pier 3. Tickets are sold on board.")
    (docs / "garden.md").write_text("# Garden\n\nWater the tomatoes every evening in July; the "
                                    "basil needs shade after noon.")
    runner = CliRunner()
    use_home(monkeypatch, tmp_path / "writer", shared)
    result = runner.invoke(main, ["index", str(docs)])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    queries = ["when does the ferry leave", "tomatoes"]
    here = [json.loads(runner.invoke(main, ["search", "--json", q]).stdout) for q in queries]
    assert here[0][0]["path"].endswith("boat.md") and here[1][0]["path"].endswith("garden.md")

    use_home(monkeypatch, tmp_path / "reader", shared)
    there = [runner.invoke(main, ["search", "--json", q]) for q in queries]
    # The same passages in the same order; scores may differ in the last digits (torch's thread
    # count follows the machine's load, and float sums follow the thread count).
    assert [_rounded(json.loads(r.stdout)) for r in there] == [_rounded(h) for h in here]
    assert "only reads it" in there[0].stderr

    refused = runner.invoke(main, ["index", str(docs)])
    assert refused.exit_code == 1
    assert "is written by" in refused.output and "claim-writer" in refused.output


def test_a_reader_cannot_write_and_chats_stay_unsaved(tmp_path, monkeypatch, shared,
                                                      tiny_model_path):
    use_home(monkeypatch, tmp_path / "writer", shared)
    writer = open_app_database(app_paths().ensure(), shared)
    assert writer.read_only_reason == ""
    writer.set_meta("hello", "world")

    use_home(monkeypatch, tmp_path / "reader", shared)
    reader = open_app_database(app_paths().ensure(), shared)
    assert "only reads it" in reader.read_only_reason
    assert reader.get_meta("hello") == "world"
    with pytest.raises(ReadOnlyStoreError, match="is written by"):
        reader.set_meta("hello", "mars")

    from assistant.core import AskOptions, Loremind, Notice
    from assistant.engine import LocalModel

    model = LocalModel.load(tiny_model_path, context_size=512)
    settings = Settings(store=shared)
    settings.generation.max_tokens = 8
    core = Loremind(app_paths(), settings, model=model, store=reader)
    session = core.chat.new_session()
    events = list(core.chat.ask(session, "Hello", AskOptions(use_knowledge=False)))
    assert type(events[-1]).__name__ == "Done"
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("only reads it" in n and "This chat is temporary" in n for n in notices)
    assert session.temporary, "nothing can be stored: the chat is temporary"
    model.close()
    assert "only reads it" in core.knowledge.read_only_reason
    (tmp_path / "docs").mkdir()
    core.knowledge.start_watching([tmp_path / "docs"])
    assert core.knowledge._watcher is None, "the writer indexes; a reader does not watch"
    core.close()

    result = CliRunner().invoke(main, ["store", "claim-writer"])
    assert result.exit_code == 0, result.output
    assert open_app_database(app_paths(), shared).read_only_reason == ""
    use_home(monkeypatch, tmp_path / "writer", shared)
    assert "only reads it" in open_app_database(app_paths(), shared).read_only_reason
