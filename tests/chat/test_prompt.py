"""Prompt assembly: always within the context window, oldest turns dropped first."""

from __future__ import annotations

import pytest

from assistant.chat.events import Citation
from assistant.chat.prompt import compose, plan_prompt
from assistant.engine import LocalModel
from assistant.errors import ContextOverflowError

RESERVE = 64


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    # The tiny model's vocabulary spends about a token per character: room for a system block.
    from assistant.bench.synthetic import write_tiny_model

    path = write_tiny_model(tmp_path_factory.mktemp("prompt") / "tiny-1k.gguf", context=1024)
    model = LocalModel.load(path, context_size=1024)
    yield model
    model.close()


def citation(n: int, text: str) -> Citation:
    return Citation(n, f"/notes/doc{n}.md", 0, "Intro", text, 0.5)


def history(turns: int) -> list[dict]:
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i} the cat sat on the mat"})
        messages.append({"role": "assistant", "content": f"answer {i} the dog is blue"})
    return messages


@pytest.mark.parametrize("turns", [0, 3, 40, 400])
def test_never_exceeds_the_context(tiny, turns):
    plan = plan_prompt(tiny, "You are helpful.", ["I like cats"], [citation(1, "red mat")],
                       history(turns), "what is blue?", reserve=RESERVE)
    assert tiny.count_tokens(plan.messages) <= tiny.n_ctx - RESERVE
    assert plan.messages[-1]["content"].endswith("what is blue?")
    roles = [m["role"] for m in plan.messages]
    assert roles[0] == "system"
    assert roles[1:] == ["user", "assistant"] * ((len(roles) - 2) // 2) + ["user"]
    if turns >= 40:
        assert plan.dropped_turns > 0
        assert plan.messages[-2]["content"] == f"answer {turns - 1} the dog is blue"


def test_sources_are_numbered_and_the_model_is_told_to_cite(tiny):
    cites = [citation(1, "The boiler error E42 means low pressure."),
             citation(2, "Descale the kettle monthly.")]
    messages = compose("Be brief.", [], cites, [], "What is E42?")
    user = messages[-1]["content"]
    assert "[1] (/notes/doc1.md, Intro)\nThe boiler error E42" in user
    assert "[2] (/notes/doc2.md, Intro)\nDescale" in user
    assert "cite them like [1]" in user
    assert user.endswith("Question: What is E42?")


def test_memories_new_to_a_turn_ride_on_it_and_the_system_block_stays(tiny):
    first = compose("Be brief.", ["I like tea"], [], [], "A?")
    later = compose("Be brief.", ["I like tea"], [citation(1, "red mat")], [], "B?",
                    ["I live in Leeds"])
    assert later[0] == first[0]
    assert "Also about the user (they asked you to remember it):\n- I live in Leeds" \
        in later[-1]["content"]


def test_sources_then_memories_give_way_after_history(tiny):
    big = "the cat sat on the mat " * 12
    plan = plan_prompt(tiny, "S", [big, big], [citation(1, big), citation(2, big)], [],
                       "hi", reserve=RESERVE)
    assert tiny.count_tokens(plan.messages) <= tiny.n_ctx - RESERVE
    # Both sources and both memories cannot fit: every source gives way before any memory.
    assert plan.citations == []
    assert len(plan.memories) >= 1


def test_a_message_too_long_for_the_context_is_refused(tiny):
    with pytest.raises(ContextOverflowError):
        plan_prompt(tiny, "S", [], [], [], "the cat " * 400, reserve=RESERVE)
