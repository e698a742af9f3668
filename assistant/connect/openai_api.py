"""The OpenAI-compatible API: ``GET /v1/models``, ``POST /v1/chat/completions`` (streamed or
not) and ``POST /v1/embeddings``, answered by the core for the app whose token came with the
request.

An answer is the user's Loremind answering: the model in use (``loremind``, or
``loremind:ADAPTER[:SCALE]`` with an adapter), with the documents and memories the app may use.
A request may switch those off with an extension field, ``"loremind": {"knowledge": false,
"memory": false, "temporary": true}``, and every answer says what it drew on in its own
``"loremind"`` field: the cited passages and the memories used. Errors use OpenAI's shape,
``{"error": {"message", "type", "code"}}``, with the status an OpenAI client expects. Each
route checks the request's token in the same worker call that does the work: one thread hop
per request, not two.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from assistant.connect.work import Workers
from assistant.core import (
    EMBEDDING_MODEL,
    MAX_BODY_BYTES,
    AppQuestion,
    Done,
    Event,
    Failed,
    Loremind,
    MemoriesUsed,
    Notice,
    Sources,
    Token,
    source_title,
)
from assistant.errors import (
    AdapterError,
    BadCallError,
    ContextOverflowError,
    LoremindError,
    ModelError,
    NotPermittedError,
    TooLargeError,
    UnknownNameError,
    UnknownTokenError,
)

TOKEN_KEY = "loremind.token"  # where the gate leaves the request's token for the /v1 routes
MAX_ANSWER_TOKENS = 32_768
_SWITCHES = ("knowledge", "memory", "temporary")


def api_routes(core: Loremind, workers: Workers) -> list[Route]:
    """The ``/v1`` routes over ``core``."""
    area = core.connections

    async def models(request: Request) -> Response:
        token = _token(request)
        try:
            names = await workers.call(lambda: area.models(area.authenticate(token)))
        except LoremindError as exc:
            return error_response(exc)
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "loremind"}
            for name in names]})

    async def embeddings(request: Request) -> Response:
        token = _token(request)
        try:
            body = await read_json(request)
            texts, model, as_base64 = _embedding_request(body)
            result = await workers.call(lambda: area.embed(area.authenticate(token), texts))
        except LoremindError as exc:
            return error_response(exc)
        data = [{"object": "embedding", "index": n,
                 "embedding": base64.b64encode(vector.astype("<f4").tobytes()).decode()
                 if as_base64 else [float(x) for x in vector]}
                for n, vector in enumerate(result.vectors)]
        return JSONResponse({"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": result.tokens,
                                       "total_tokens": result.tokens}})

    async def chat_completions(request: Request) -> Response:
        token = _token(request)
        try:
            body = await read_json(request)
            question, stream, usage = _chat_request(body)
            opened = workers.stream(lambda: area.ask(area.authenticate(token), question),
                                    question.cancel)
            first = await _until_answer(opened)
        except LoremindError as exc:
            return error_response(exc)
        answer = _Answer(question.model, first)
        if first.failed is not None:
            await opened.aclose()
            return error_response(first.failed.error)
        if stream:
            return StreamingResponse(answer.chunks(opened, usage), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        try:
            return JSONResponse(await answer.whole(opened))
        except LoremindError as exc:
            return error_response(exc)
        finally:
            await opened.aclose()

    return [Route("/v1/models", models, methods=["GET"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"])]


class _First:
    """What came before the answer's first words: sources, memories, notices, or a failure."""

    def __init__(self) -> None:
        self.sources: Sources | None = None
        self.memories: MemoriesUsed | None = None
        self.notices: list[str] = []
        self.failed: Failed | None = None
        self.next: Event | None = None  # the first token (or Done), to send first


async def _until_answer(events: AsyncIterator[Event]) -> _First:
    """Read events up to the first token, so that a failure before it is an HTTP error."""
    first = _First()
    async for event in events:
        if isinstance(event, Sources):
            first.sources = event
        elif isinstance(event, MemoriesUsed):
            first.memories = event
        elif isinstance(event, Notice):
            first.notices.append(event.text)
        elif isinstance(event, Failed):
            first.failed = event
            return first
        elif isinstance(event, Token | Done):
            first.next = event
            return first
    return first


class _Answer:
    """One chat completion, written as OpenAI writes them."""

    def __init__(self, model: str, first: _First) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.first = first

    def extension(self) -> dict[str, Any]:
        """What the answer drew on: the cited passages, the memories used, notices."""
        citations = self.first.sources.citations if self.first.sources else []
        memories = self.first.memories.memories if self.first.memories else []
        return {"sources": [{"number": c.number, "citation": source_title(c.to_json()),
                             "path": c.path, "page": c.page, "heading": c.heading,
                             "text": c.text} for c in citations],
                "memories_used": [{"id": m.id, "text": m.text} for m in memories],
                "notices": self.first.notices}

    async def whole(self, events: AsyncIterator[Event]) -> dict[str, Any]:
        """The answer in one response (or the error it ended with)."""
        text: list[str] = []
        done: Done | None = None
        async for event in _after_first(self.first, events):
            if isinstance(event, Token):
                text.append(event.text)
            elif isinstance(event, Done):
                done = event
            elif isinstance(event, Failed):
                raise event.error
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": done.text if done else
                                                     "".join(text).strip()},
                             "finish_reason": _finish(done)}],
                "usage": _usage(done), "loremind": self.extension()}

    async def chunks(self, events: AsyncGenerator[Event, None],
                     usage: bool) -> AsyncIterator[bytes]:
        """The answer as server-sent events, ending in ``[DONE]`` (or an error event)."""
        try:
            yield self._sse(self._chunk({"role": "assistant", "content": ""},
                                        loremind=self.extension()))
            async for event in _after_first(self.first, events):
                if isinstance(event, Token):
                    yield self._sse(self._chunk({"content": event.text}))
                elif isinstance(event, Done):
                    yield self._sse(self._chunk({}, finish=_finish(event)))
                    if usage:
                        yield self._sse({**self._chunk({}), "choices": [],
                                         "usage": _usage(event)})
                elif isinstance(event, Failed):
                    yield self._sse(error_body(event.error)[1])
                    return
            yield b"data: [DONE]\n\n"
        finally:
            with anyio.CancelScope(shield=True):  # the app hung up: stop at the next token
                await events.aclose()

    def _chunk(self, delta: dict[str, Any], finish: str | None = None,
               **extra: Any) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

    @staticmethod
    def _sse(data: dict[str, Any]) -> bytes:
        return f"data: {json.dumps(data)}\n\n".encode()


async def _after_first(first: _First, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    if first.next is not None:
        yield first.next
    async for event in events:
        yield event


def _finish(done: Done | None) -> str:
    return "length" if done is not None and done.stats.finish_reason == "length" else "stop"


def _usage(done: Done | None) -> dict[str, int]:
    prompt = done.stats.prompt_tokens if done else 0
    completion = done.stats.completion_tokens if done else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


# -- requests ----------------------------------------------------------------------------------

async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLargeError(f"The request has {int(declared):,} bytes; Loremind takes at most "
                            f"{MAX_BODY_BYTES:,}.")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_BODY_BYTES:
            raise TooLargeError(f"The request is over {MAX_BODY_BYTES:,} bytes, the most "
                                "Loremind takes.")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadCallError(f"The request is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise BadCallError("The request must be a JSON object.")
    return data


def _chat_request(body: dict[str, Any]) -> tuple[AppQuestion, bool, bool]:
    """(the question, whether to stream, whether to send usage at the end) from a request."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadCallError("'model' is missing: use 'loremind' (GET /v1/models lists them).")
    if body.get("n", 1) != 1:
        raise BadCallError("'n' must be 1: Loremind gives one answer per request.")
    if body.get("tools") or body.get("functions"):
        raise BadCallError("Loremind's API does not call tools: send the request without "
                           "'tools' (its MCP server offers Loremind's own tools).")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadCallError("'messages' must be a list of {role, content} objects.")
    switches = body.get("loremind", {})
    if not isinstance(switches, dict) or any(k not in _SWITCHES for k in switches) or \
            any(not isinstance(v, bool) for v in switches.values()):
        raise BadCallError("'loremind' takes true or false for "
                           f"{', '.join(_SWITCHES)}, and nothing else.")
    options = body.get("stream_options") or {}
    question = AppQuestion(
        messages=tuple(_message(n, m) for n, m in enumerate(messages)), model=model,
        knowledge=switches.get("knowledge", True), memory=switches.get("memory", True),
        temporary=switches.get("temporary", False),
        temperature=_number(body, "temperature", 0.0, 2.0),
        top_p=_number(body, "top_p", 0.0, 1.0),
        max_tokens=_tokens(body))
    return question, body.get("stream") is True, bool(options.get("include_usage")) \
        if isinstance(options, dict) else False


def _message(index: int, message: Any) -> tuple[str, str]:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise BadCallError(f"{where} must be an object with 'role' and 'content'.")
    role = message.get("role")
    if role == "developer":  # newer OpenAI clients send the system prompt under this name
        role = "system"
    if role in ("tool", "function"):
        raise BadCallError(f"{where} is a tool result; Loremind's API does not call tools.")
    content = message.get("content")
    if isinstance(content, list):
        parts = []
        for n, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or \
                    not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadCallError(f"{where}.content[{n}] is '{kind}'; Loremind reads text only.")
            parts.append(part["text"])
        content = "\n".join(parts)
    if not isinstance(content, str):
        raise BadCallError(f"{where}.content must be text.")
    return str(role), content


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadCallError(f"'{name}' must be a number from {low:g} to {high:g}.")
    return float(value)


def _tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_ANSWER_TOKENS:
        raise BadCallError(f"'max_tokens' must be a whole number from 1 to {MAX_ANSWER_TOKENS}.")
    return value


def _embedding_request(body: dict[str, Any]) -> tuple[Any, str, bool]:
    """(the texts, the model named, whether to answer in base64) from a request."""
    model = body.get("model")
    if model != EMBEDDING_MODEL:
        raise UnknownNameError(f"The embedding model is '{EMBEDDING_MODEL}', not {model!r}.")
    texts = body.get("input")
    if isinstance(texts, list) and texts and not all(isinstance(t, str) for t in texts):
        raise BadCallError("'input' must be text: Loremind does not take token ids.")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != 384:
        raise BadCallError("Loremind's embedder gives 384 dimensions; leave out 'dimensions'.")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadCallError("'encoding_format' must be 'float' or 'base64'.")
    return texts, model, encoding == "base64"


def _token(request: Request) -> str:
    token = request.scope.get(TOKEN_KEY)
    if not isinstance(token, str):  # the gate lets nothing through without one
        raise RuntimeError("A /v1 request reached its route without a token")
    return token


# -- errors ------------------------------------------------------------------------------------

def error_body(error: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and OpenAI-shaped body for ``error``."""
    status, kind, code = 500, "server_error", None
    if isinstance(error, UnknownTokenError):
        status, kind, code = 401, "authentication_error", "invalid_api_key"
    elif isinstance(error, NotPermittedError):
        status, kind = 403, "permission_error"
    elif isinstance(error, UnknownNameError | AdapterError):
        status, kind, code = 404, "invalid_request_error", "model_not_found"
    elif isinstance(error, TooLargeError):
        status, kind = 413, "invalid_request_error"
    elif isinstance(error, ContextOverflowError):
        status, kind, code = 400, "invalid_request_error", "context_length_exceeded"
    elif isinstance(error, BadCallError):
        status, kind = 400, "invalid_request_error"
    elif isinstance(error, ModelError):
        status = 503
    message = str(error) if isinstance(error, LoremindError) else \
        "Loremind failed to answer; its log has the details."
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_response(error: BaseException) -> JSONResponse:
    """``error`` as an OpenAI-shaped JSON response."""
    status, body = error_body(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)
