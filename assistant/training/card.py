"""The adapter card: a JSON file beside a trained adapter saying what it learned from, and how well.

``demo.gguf`` has its card in ``demo.card.json``. Deleting an adapter with :func:`delete_adapter`
deletes its card with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import AdapterError
from assistant.wording import plural

CARD_SUFFIX = ".card.json"


def card_path(adapter: Path) -> Path:
    """Where the card of ``adapter`` lives."""
    return adapter.with_name(adapter.stem + CARD_SUFFIX)


def read_card(adapter: Path) -> dict[str, Any] | None:
    """The card of ``adapter``, or None for an adapter trained elsewhere (or a damaged card)."""
    try:
        data = json.loads(card_path(adapter).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Write ``card`` to ``path`` as indented JSON."""
    path.write_text(json.dumps(card, indent=2), encoding="utf-8")


def delete_adapter(adapter: Path) -> None:
    """Delete an adapter file and its card."""
    try:
        adapter.unlink()
    except OSError as exc:
        raise AdapterError(f"Cannot delete {adapter}: {exc.strerror or exc}") from exc
    card_path(adapter).unlink(missing_ok=True)


def card_lines(card: dict[str, Any]) -> list[str]:
    """The card as short lines for a person: data, counts, settings and the held-out loss."""
    base = card.get("base_model", {})
    data = card.get("data", {})
    counts = data.get("counts", {})
    settings = card.get("settings", {})
    lines = [f"Trained on {base.get('file', '?')} (sha256 {str(base.get('sha256', ''))[:12]}…)"]
    for source in data.get("sources", []):
        if source.get("kind") == "chat":
            lines.append(f"  from {plural(len(source.get('message_ids', [])), 'chat message')}")
        else:
            examples = plural(source.get("examples", 0), "example")
            lines.append(f"  from {source.get('path')} ({examples}, "
                         f"sha256 {str(source.get('sha256', ''))[:12]}…)")
    train, held_out = counts.get("train_examples", 0), counts.get("heldout_examples", 0)
    # One noun for both counts: "1 training and 1 held-out examples" are two.
    noun = "example" if train + held_out == 1 else "examples"
    lines.append(f"{train} training and {held_out} held-out {noun}, "
                 f"{plural(counts.get('trained_tokens', 0), 'trained token')}")
    lines.append(f"rank {settings.get('rank')}, alpha {settings.get('alpha')}, "
                 f"{plural(settings.get('steps', 0), 'step')}, learning rate {settings.get('lr')}")
    before, after = card.get("heldout_loss_before"), card.get("heldout_loss_after")
    if before is not None and after is not None:
        lines.append(f"held-out loss (llama.cpp): {before:.3f} without, {after:.3f} with")
    curve = card.get("loss_curve", [])
    if curve:
        lines.append(f"training loss: {curve[0][1]:.3f} at step {curve[0][0]} → "
                     f"{curve[-1][1]:.3f} at step {curve[-1][0]}")
    return lines
