"""Find what is worth remembering in the user's own words, and nothing else.

The model reads only the user's message — never documents or its own replies — so text planted
in a file or echoed by the assistant cannot become a memory. Its output is constrained by a JSON
schema grammar, so even the smallest model emits parseable JSON; bounded arrays and strings let
the grammar close the object before ``max_tokens``. The grammar guarantees shape, not sense, so
candidates are filtered: each must be grounded in the user's words and must not be a secret.
"""

from __future__ import annotations

import json
import re

from assistant.engine.chat_template import Message
from assistant.engine.protocol import ChatEngine

MAX_CANDIDATES = 3
CANDIDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "memories": {
            "type": "array",
            "maxItems": MAX_CANDIDATES,
            "items": {"type": "string", "minLength": 4, "maxLength": 100},
        }
    },
    "required": ["memories"],
}
INSTRUCTION = (
    "You keep a list of lasting facts and preferences about the user. Read the user's message "
    "and list each fact about the user that it states, as a short sentence in the user's own "
    "words, starting with 'I' or 'My'. List nothing when the message states no fact about the "
    'user. Answer with JSON: {"memories": [...]}.'
)
_EXPLICIT = re.compile(r"^\s*(?:please\s+)?remember\s+(?:that\s+)?(?P<fact>.+?)\s*$",
                       re.IGNORECASE | re.DOTALL)
_SELF = re.compile(r"\b(i|i'm|i've|i'd|my|me|mine|myself)\b", re.IGNORECASE)
_SECRET = re.compile(
    r"pass(word|code|phrase)|\bpin\b|api[ _-]?key|secret|token|credit card|card number|"
    r"social security|\bssn\b|\biban\b", re.IGNORECASE)
_STOPWORDS = {
    "the", "user", "users", "user's", "that", "this", "with", "from", "they", "their", "have",
    "has", "likes", "like", "is", "are", "was", "and", "for", "who", "would", "prefers",
}


def explicit_request(user_text: str) -> str | None:
    """The fact in "remember that …", or None when the message asks for nothing to be kept."""
    match = _EXPLICIT.match(user_text)
    return match.group("fact").rstrip(".") + "." if match else None


def worth_extracting(user_text: str) -> bool:
    """Only messages in which the user speaks of themselves can hold facts about them."""
    return bool(_SELF.search(user_text)) and explicit_request(user_text) is None


def extract_candidates(model: ChatEngine, user_text: str) -> list[str]:
    """Ask the model for facts stated in ``user_text``; keep the grounded, non-secret ones.
    Runs beside the conversation: the chat's cached prompt is kept for the next turn."""
    messages: list[Message] = [
        {"role": "system", "content": INSTRUCTION},
        {"role": "user", "content": user_text},
    ]
    output = model.generate_json(messages, CANDIDATE_SCHEMA, max_tokens=160)
    try:
        items = json.loads(output).get("memories", [])
    except (json.JSONDecodeError, AttributeError):
        return []  # cut off by max_tokens: nothing trustworthy to keep
    return filter_candidates([str(i) for i in items], user_text)


def filter_candidates(candidates: list[str], user_text: str) -> list[str]:
    """Drop secrets, duplicates and candidates whose words the user did not say."""
    kept: list[str] = []
    said = {_stem(w) for w in _words(user_text)}
    for candidate in candidates:
        text = " ".join(candidate.split()).strip()
        if not text or _SECRET.search(text):
            continue
        content = [_stem(w) for w in _words(text) if w not in _STOPWORDS and len(w) > 2]
        if not content or not all(w in said for w in content):
            continue  # a word the user never said: the model made it up
        if text.lower() not in (k.lower() for k in kept):
            kept.append(text)
    return kept


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _stem(word: str) -> str:
    """Strip one inflection so that "lives" matches "live" but "Lyonese" not "Lyon"."""
    for suffix in ("'s", "ing", "es", "ed", "s", "d", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
