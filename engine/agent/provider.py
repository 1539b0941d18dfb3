"""Gemini through google-genai: one streamed model call per step, with our own retries.

`make_client` uses the SDK's standard settings (``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``,
``GOOGLE_GEMINI_BASE_URL``) and turns a missing key into one line saying what to set.
`stream_step` streams one call, handing text and thought deltas to a callback as they arrive,
and returns the whole model turn only when the stream finished (a finish reason arrived): a
stream cut half-way raises `StreamDropped`, and one that sends nothing for
``RetryPolicy.stall`` seconds raises `StreamStalled`, so nothing it said can be acted on. A
reply that is not a readable GenerateContentResponse (bad JSON, wrong types) or a prompt the API
blocked (``promptFeedback.blockReason``) raises `ModelRefused`: the model's answer, not the
network's, so retrying the same request is not the remedy. A turn that ends with a finish
reason other than STOP comes back with it (`Step.finish`); the run decides (see
`finish_problem`). `with_retries` retries 408, 429, 5xx, dropped and stalled streams with
exponential back-off and full jitter, honouring ``Retry-After``, a bounded number of times;
400, 401, 403 and 404 fail at once with what to fix. The SDK does not retry on its own (its
default), so every attempt is ours and visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import random
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from engine.agent.pricing import Usage
from engine.errors import ReelcutError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# The SDK warns on stderr about a finish reason it does not know; the run's error names it.
warnings.filterwarnings("ignore", r".* is not a valid FinishReason", UserWarning)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of a dropped connection, from whichever HTTP library the SDK uses."""
    found: list[type[BaseException]] = [ConnectionError, asyncio.IncompleteReadError]
    for module, name in (
        ("httpx", "TransportError"),
        ("httpx2", "TransportError"),
        ("aiohttp", "ClientError"),
    ):
        with contextlib.suppress(ImportError, AttributeError):
            found.append(getattr(importlib.import_module(module), name))
    return tuple(found)


TRANSPORT_ERRORS = _transport_errors()


class AgentConfigError(ReelcutError):
    """Something to configure before a run can work (a key, a model name); not retried."""

    exit_code = 13


class ModelError(ReelcutError):
    """The model call failed for good (a 4xx, or retries used up)."""


class StreamDropped(ReelcutError):
    """The stream ended before the model finished its turn."""


class StreamStalled(StreamDropped):
    """The stream sent nothing for longer than the policy allows."""


class ModelRefused(ReelcutError):
    """The API answered, but not with a turn the run can use: a blocked prompt, or a reply
    that is not a readable GenerateContentResponse. Not retried."""


# What a finish reason other than STOP means, said for a person reading the run's error.
FINISH_REASONS = {
    "MAX_TOKENS": "the answer reached the model's output token limit",
    "SAFETY": "Gemini stopped the answer for safety",
    "RECITATION": "Gemini stopped the answer for recitation",
    "LANGUAGE": "Gemini stopped the answer: an unsupported language",
    "BLOCKLIST": "Gemini stopped the answer: it contained a blocked term",
    "PROHIBITED_CONTENT": "Gemini stopped the answer for prohibited content",
    "SPII": "Gemini stopped the answer: it contained sensitive personal information",
    "MALFORMED_FUNCTION_CALL": "the model wrote a function call that could not be parsed",
    "UNEXPECTED_TOOL_CALL": "the model called a tool that was not offered",
    "TOO_MANY_TOOL_CALLS": "the model made too many tool calls in one turn",
    "IMAGE_SAFETY": "Gemini stopped the answer for image safety",
    "OTHER": "Gemini stopped the answer for an unspecified reason",
}


def finish_problem(finish: str) -> str | None:
    """None for a turn that ended normally (STOP); else why it did not, in one phrase."""
    if finish == "STOP":
        return None
    said = FINISH_REASONS.get(finish, "the model stopped for a reason reelcut does not know")
    return f"{said} (finish reason {finish or 'none'}); nothing it asked for was done"


def api_key() -> str | None:
    return os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")


def make_client() -> genai.Client:
    if not api_key():
        raise AgentConfigError(
            "no Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) to a key from "
            "https://aistudio.google.com/apikey"
        )
    return genai.Client(http_options=http_options())


def http_options() -> types.HttpOptions:
    """httpx2 for the async client, whatever else is installed.

    google-genai switches its async client to aiohttp whenever aiohttp can be imported (and
    textual-dev, for one, brings it), unless a transport is given. aiohttp reports errors,
    cut streams and Retry-After in its own types, so the run's retries and messages would
    depend on what happens to be installed beside reelcut.
    """
    return types.HttpOptions(async_client_args={"transport": httpx2.AsyncHTTPTransport()})


@dataclass
class Step:
    """One finished model turn: its parts (Gemini JSON, as stored and sent back), the
    function calls among them, the usage and the finish reason."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    calls: list[types.FunctionCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish: str = ""
    model_version: str = ""


def _usage(meta: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    if meta is None:
        return Usage()
    return Usage(
        prompt=meta.prompt_token_count or 0,
        output=meta.candidates_token_count or 0,
        cached=meta.cached_content_token_count or 0,
        thoughts=meta.thoughts_token_count or 0,
    )


def _add_part(parts: list[dict[str, Any]], part: types.Part) -> None:
    """Keep the turn compact: consecutive text deltas of the same kind become one part (the
    thought signature, when one arrives, stays on it)."""
    data = part.model_dump(mode="json", exclude_none=True)
    only_text = set(data) <= {"text", "thought", "thought_signature"}
    if only_text and parts:
        last = parts[-1]
        if (
            set(last) <= {"text", "thought"}
            and bool(last.get("thought")) == bool(data.get("thought"))
            and "text" in data
        ):
            last["text"] = last.get("text", "") + data["text"]
            if "thought_signature" in data:
                last["thought_signature"] = data["thought_signature"]
            return
    parts.append(data)


Delta = Callable[[str, str], Awaitable[None]]  # (kind "text" | "thought", text)


STALL_SECONDS = 60.0


def _unreadable(exc: BaseException) -> ModelRefused:
    first = " ".join(str(exc).split())[:300]
    return ModelRefused(f"Gemini's reply could not be read ({type(exc).__name__}: {first})")


async def stream_step(
    client: genai.Client,
    model: str,
    contents: list[dict[str, Any]],
    config: types.GenerateContentConfig,
    on_delta: Delta,
    *,
    stall: float = STALL_SECONDS,
) -> Step:
    step = Step()
    try:
        stream = await asyncio.wait_for(
            client.aio.models.generate_content_stream(
                model=model,
                contents=[types.Content.model_validate(c) for c in contents],
                config=config,
            ),
            stall,
        )
    except TimeoutError:
        raise StreamStalled(f"Gemini sent no answer for {stall:g} s") from None
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(anext(stream), stall)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise StreamStalled(f"the answer stalled: nothing for {stall:g} s") from None
            except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
                raise _unreadable(exc) from None
            await _take_chunk(step, chunk, on_delta)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
    if not step.finish:
        raise StreamDropped("the model's answer stopped half-way (no finish reason)")
    return step


async def _take_chunk(step: Step, chunk: types.GenerateContentResponse, on_delta: Delta) -> None:
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = str(getattr(feedback.block_reason, "value", feedback.block_reason))
        said = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise ModelRefused(f"Gemini blocked the prompt ({reason}{said}); rephrase the request")
    if chunk.usage_metadata is not None:
        step.usage = _usage(chunk.usage_metadata)
    if chunk.model_version:
        step.model_version = chunk.model_version
    for candidate in chunk.candidates or []:
        if candidate.finish_reason is not None:
            step.finish = str(candidate.finish_reason.value)
        content = candidate.content
        for part in (content.parts if content is not None else None) or []:
            if part.function_call is not None:
                step.calls.append(part.function_call)
            elif part.text:
                await on_delta("thought" if part.thought else "text", part.text)
            _add_part(step.parts, part)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # the first try and five retries
    base: float = 1.0
    cap: float = 30.0
    retry_after_cap: float = 120.0
    stall: float = STALL_SECONDS  # a stream silent this long is dropped and retried

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling; never less than the server asked."""
        wait = random.uniform(0, min(self.cap, self.base * 2**attempt))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait


def _retry_after(exc: genai_errors.APIError) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the back-off alone


async def _close_stream(exc: genai_errors.APIError) -> None:
    """An error event inside a stream leaves the SDK's HTTP response open (it is the SDK's own
    response wrapper then, with the stream on ``response_stream``): close it."""
    stream = getattr(getattr(exc, "response", None), "response_stream", None)
    close = getattr(stream, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def describe(exc: BaseException) -> str:
    if isinstance(exc, genai_errors.APIError):
        return f"HTTP {exc.code} {exc.status or ''}: {exc.message or ''}".strip()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def fail_fast(exc: genai_errors.APIError) -> ReelcutError:
    """One line on what to do for an error retrying cannot fix."""
    detail = describe(exc)
    if exc.code in (401, 403) or (exc.code == 400 and "API key" in (exc.message or "")):
        return AgentConfigError(
            f"Gemini refused the key ({detail}); set GEMINI_API_KEY (or GOOGLE_API_KEY) to a "
            "valid key"
        )
    if exc.code == 404:
        return AgentConfigError(f"Gemini does not know that model ({detail}); pick another")
    return ModelError(f"Gemini refused the request ({detail})")


Retrying = Callable[[int, float, str], Awaitable[None]]  # (attempt, wait seconds, reason)


DEFAULT_POLICY = RetryPolicy()


async def with_retries(
    attempt_once: Callable[[], Awaitable[Step]],
    on_retry: Retrying,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Step:
    for attempt in range(policy.attempts):
        try:
            return await attempt_once()
        except genai_errors.APIError as exc:
            await _close_stream(exc)
            if exc.code not in RETRY_STATUSES:
                raise fail_fast(exc) from None
            reason, retry_after = describe(exc), _retry_after(exc)
        except StreamDropped as exc:  # StreamStalled too
            reason, retry_after = str(exc), None
        except TRANSPORT_ERRORS as exc:
            reason, retry_after = f"the connection dropped ({describe(exc)})", None
        if attempt + 1 >= policy.attempts:
            raise ModelError(f"Gemini failed {policy.attempts} times; the last: {reason}")
        wait = policy.wait(attempt, retry_after)
        await on_retry(attempt + 1, wait, reason)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")
