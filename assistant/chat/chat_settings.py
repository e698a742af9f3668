"""Per-chat settings: a chat's own system prompt, sampling and which knowledge it may use.

Each chat stores what it changes from the app's settings; anything left unset follows them, so a
chat made last month picks up a better default prompt today. The facade applies them to every
answer of the chat (:func:`apply_chat_settings`), whichever front end asks.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from assistant.config import GenerationSettings
from assistant.engine.model import SamplingParams

if TYPE_CHECKING:
    from assistant.chat.answering import AskOptions


class KnowledgeScope(StrEnum):
    """Which watched folders a chat's answers may cite."""

    ALL = "all"
    SOME = "some"  # only ``ChatSettings.folders``
    NONE = "none"


@dataclass
class ChatSettings:
    """What one chat does differently from the app's settings (None or "": the app's value)."""

    system_prompt: str = ""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    knowledge: KnowledgeScope = KnowledgeScope.ALL
    folders: list[str] = field(default_factory=list)

    @property
    def is_default(self) -> bool:
        """Whether the chat follows the app's settings in everything."""
        return self == ChatSettings()

    def sampling(self, defaults: GenerationSettings) -> SamplingParams:
        """The app's sampling with this chat's changes."""
        params = SamplingParams.from_settings(defaults)
        return dataclasses.replace(
            params,
            temperature=params.temperature if self.temperature is None else self.temperature,
            top_p=params.top_p if self.top_p is None else self.top_p,
            max_tokens=params.max_tokens if self.max_tokens is None else self.max_tokens)

    def to_json(self) -> str:
        """The settings as a JSON object (empty when they are all the defaults)."""
        if self.is_default:
            return ""
        data = dataclasses.asdict(self)
        data["knowledge"] = str(self.knowledge)
        return json.dumps(data)


def apply_chat_settings(options: AskOptions, chat: ChatSettings,
                        defaults: GenerationSettings) -> AskOptions:
    """``options`` with the chat's settings filled in where the caller did not choose."""
    changes: dict[str, Any] = {}
    if options.system_prompt is None:
        changes["system_prompt"] = chat.system_prompt.strip() or defaults.system_prompt
    if options.sampling is None:
        changes["sampling"] = chat.sampling(defaults)
    if chat.knowledge == KnowledgeScope.NONE:
        changes["use_knowledge"] = False
    elif chat.knowledge == KnowledgeScope.SOME and options.knowledge_folders is None:
        changes["knowledge_folders"] = list(chat.folders)
        changes["use_knowledge"] = options.use_knowledge and bool(chat.folders)
    return dataclasses.replace(options, **changes) if changes else options
