"""The fake Gemini server through the real google-genai SDK: the wire format the agent loop sees.

These tests document google-genai 3.6.1 as installed here:

- Async HTTP goes through httpx2 (``google.genai._api_client.AsyncHttpx2Client``, a subclass of
  ``httpx2.AsyncClient``): httpx2 is a hard dependency of the SDK; httpx and aiohttp are extras,
  and aiohttp (which would take over async calls) is not installed.
- Requests go to ``/v1/models/{model}:streamGenerateContent?alt=sse`` (the default API version
  is ``v1``) with the key in ``x-goog-api-key``. ``GOOGLE_GEMINI_BASE_URL`` + ``GEMINI_API_KEY``
  work with a bare ``genai.Client()``.
- Function declarations and ``thinkingConfig`` go out as pydantic dumps, with snake_case keys
  inside (``parameters_json_schema``, ``include_thoughts``), while the envelope is camelCase
  (``systemInstruction``, ``functionDeclarations``, ``toolConfig``, ``generationConfig``).
  ``FunctionDeclaration.parameters_json_schema`` takes a raw JSON schema dict.
- ``functionCall.id`` is optional (the Developer API may omit it); a ``thoughtSignature`` arrives
  as bytes in ``part.thought_signature`` and goes back base64-encoded.
- HTTP errors raise ``google.genai.errors.ClientError`` (4xx) / ``ServerError`` (5xx) with
  ``.code``, ``.status``, ``.message`` and ``.details`` (the whole error JSON); for an error
  status ``.response`` is the ``httpx2.Response``, so ``exc.response.headers["retry-after"]`` is
  reachable. The SDK does not retry unless ``HttpOptions(retry_options=...)`` asks it to.
- A stream dropped mid-body raises ``httpx2.RemoteProtocolError`` (FIN) or ``httpx2.ReadError``
  (RST) from the ``async for``, after the chunks that did arrive were yielded.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import errors, types

from engine.agent import provider
from tests.fakes.gemini import (
    NO_REPLY,
    Error,
    FakeGemini,
    Json,
    Stream,
    audio,
    call,
    chunk,
    response,
    text,
    thought,
    usage_metadata,
)

MODEL = "gemini-3-flash-preview"

# Everything in the environment that changes how genai.Client() picks a backend, key or URL.
ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_HTTP_CLIENT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    with FakeGemini() as server:
        yield server


def run(go: Callable[[genai.Client], Awaitable[None]], client: genai.Client) -> None:
    """Runs ``go(client)`` in a fresh event loop and closes the client's async pool after."""

    async def main() -> None:
        try:
            await go(client)
        finally:
            await client.aio.aclose()

    asyncio.run(main())


async def stream(
    client: genai.Client,
    contents: types.ContentListUnion | types.ContentListUnionDict = "hi",
    config: types.GenerateContentConfig | None = None,
) -> AsyncIterator[types.GenerateContentResponse]:
    async for c in await client.aio.models.generate_content_stream(
        model=MODEL, contents=contents, config=config
    ):
        yield c


async def collect(
    client: genai.Client,
    contents: types.ContentListUnion | types.ContentListUnionDict = "hi",
    config: types.GenerateContentConfig | None = None,
) -> list[types.GenerateContentResponse]:
    return [c async for c in stream(client, contents, config)]


def parts_of(r: types.GenerateContentResponse) -> list[types.Part]:
    assert r.candidates
    content = r.candidates[0].content
    assert content is not None and content.parts is not None
    return content.parts


async def api_error(client: genai.Client) -> errors.APIError:
    """The APIError that a streaming call raises (before any chunk)."""
    with pytest.raises(errors.APIError) as info:
        await collect(client)
    return info.value


# --- wire format of a stream -------------------------------------------------------------------


def test_streamed_text_arrives_in_chunks_with_usage_on_the_last(fake: FakeGemini) -> None:
    fake.queue(
        Stream(
            [chunk(text("Cut the ")), chunk(text("intro at ")), chunk(text("3.5s."))],
            usage=usage_metadata(1200, 9, cached=1000, thoughts=40),
        )
    )

    async def go(client: genai.Client) -> None:
        chunks = await collect(client, "Where should I cut?")
        assert [c.text for c in chunks] == ["Cut the ", "intro at ", "3.5s."]
        assert all(c.model_version == MODEL for c in chunks)
        assert len({c.response_id for c in chunks}) == 1
        # Only the final chunk carries finishReason and usageMetadata.
        assert [c.usage_metadata is None for c in chunks] == [True, True, False]
        assert chunks[0].candidates and chunks[0].candidates[0].finish_reason is None
        last = chunks[-1]
        assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
        u = last.usage_metadata
        assert u is not None
        assert u.prompt_token_count == 1200
        assert u.cached_content_token_count == 1000
        assert u.candidates_token_count == 9
        assert u.thoughts_token_count == 40
        assert u.total_token_count == 1200 + 9 + 40

    run(go, fake.client())
    (req,) = fake.requests
    assert (req.method, req.path, req.query) == (
        "POST",
        f"/v1/models/{MODEL}:streamGenerateContent",
        {"alt": "sse"},
    )
    assert (req.api_version, req.model, req.action, req.stream) == (
        "v1",
        MODEL,
        "streamGenerateContent",
        True,
    )
    assert req.api_key == "test-key"
    assert req.headers["content-type"] == "application/json"
    assert "google-genai-sdk/" in req.headers["user-agent"]
    assert req.contents == [{"role": "user", "parts": [{"text": "Where should I cut?"}]}]
    assert req.system_instruction is None and req.tools == [] and req.thinking_config is None


def test_the_sse_bytes_are_data_events_separated_by_crlf_crlf(fake: FakeGemini) -> None:
    """What the SDK's SSE parser gets: ``data: {json}`` lines, each event ended by CRLF CRLF."""
    fake.queue(Stream([chunk(text("a")), chunk(text("b"))], usage=usage_metadata(2, 2)))
    with httpx2.Client() as http:
        r = http.post(f"{fake.url}/v1/models/m:streamGenerateContent?alt=sse", json={})
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["transfer-encoding"] == "chunked"
    events = r.text.split("\r\n\r\n")
    assert events[-1] == "" and len(events) == 3
    assert all(e.startswith("data: {") and "\n" not in e for e in events[:-1])
    assert '"finishReason": "STOP"' in events[1] and '"usageMetadata"' in events[1]


def test_thought_parts_with_include_thoughts(fake: FakeGemini) -> None:
    fake.queue(
        Stream(
            [
                chunk(thought("**Finding the cut**\nThe intro ends at 3.5s.")),
                chunk(text("At 3.5s.")),
            ],
            usage=usage_metadata(50, 4, thoughts=120),
        )
    )
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True)
    )

    async def go(client: genai.Client) -> None:
        first, second = await collect(client, config=config)
        (p,) = parts_of(first)
        assert p.thought is True and p.text == "**Finding the cut**\nThe intro ends at 3.5s."
        assert first.text is None  # .text leaves thoughts out
        (q,) = parts_of(second)
        assert q.thought is None and second.text == "At 3.5s."
        assert second.usage_metadata and second.usage_metadata.thoughts_token_count == 120

    run(go, fake.client())
    # pydantic-dumped, so snake_case inside thinkingConfig.
    assert fake.requests[0].thinking_config == {"include_thoughts": True}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"at": {"type": "number", "description": "seconds"}},
    "required": ["at"],
    "additionalProperties": False,
}


def cut_tool_config(**extra: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction="You edit video.",
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name="cut", description="Cut the clip.", parameters_json_schema=SCHEMA
                    )
                ]
            )
        ],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.AUTO
            )
        ),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        **extra,
    )


def test_function_call_parts_and_the_request_that_declared_them(fake: FakeGemini) -> None:
    fake.queue(
        Stream(
            [
                chunk(text("Cutting.")),
                chunk(call("cut", {"at": 3.5}, id="call-1", signature=b"sig-1")),
                chunk(call("cut", {"at": 9})),
            ]
        )
    )
    config = cut_tool_config(
        thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW)
    )

    async def go(client: genai.Client) -> None:
        chunks = await collect(client, "Cut twice.", config)
        assert chunks[0].function_calls is None
        fc1 = chunks[1].function_calls
        assert fc1 is not None and len(fc1) == 1
        assert (fc1[0].name, fc1[0].args, fc1[0].id) == ("cut", {"at": 3.5}, "call-1")
        (p,) = parts_of(chunks[1])
        assert p.function_call is not None and p.function_call.name == "cut"
        assert p.thought_signature == b"sig-1"  # base64 on the wire, bytes in the SDK
        (q,) = parts_of(chunks[2])
        assert q.function_call is not None and q.function_call.id is None  # ids are optional
        assert q.function_call.args == {"at": 9} and q.thought_signature is None
        assert chunks[2].candidates and chunks[2].candidates[0].finish_reason == "STOP"

    run(go, fake.client())
    (req,) = fake.requests
    assert req.system_instruction == {"role": "user", "parts": [{"text": "You edit video."}]}
    assert req.function_declarations == [
        # pydantic-dumped: the raw schema goes out under its snake_case name.
        {"name": "cut", "description": "Cut the clip.", "parameters_json_schema": SCHEMA}
    ]
    assert req.tool_config == {"functionCallingConfig": {"mode": "AUTO"}}
    assert req.thinking_config == {"thinking_level": "LOW"}
    assert "automaticFunctionCalling" not in str(req.body)  # a client-side setting only


def test_model_turn_goes_back_with_call_ids_and_thought_signatures(fake: FakeGemini) -> None:
    """Gemini 3 rejects a history whose function-call parts lost their thoughtSignature."""
    fake.queue(
        Stream(
            [chunk(thought("plan")), chunk(call("cut", {"at": 1}, id="c1", signature=b"\x00s"))]
        ),
        Stream([chunk(text("Done."))]),
    )

    async def go(client: genai.Client) -> None:
        config = cut_tool_config()
        first = await collect(client, "Cut.", config)
        model_turn = types.Content(role="model", parts=[p for c in first for p in parts_of(c)])
        reply = types.Part(
            function_response=types.FunctionResponse(id="c1", name="cut", response={"ok": True})
        )
        history = [
            types.Content(role="user", parts=[types.Part.from_text(text="Cut.")]),
            model_turn,
            types.Content(role="user", parts=[reply]),
        ]
        second = await collect(client, history, config)
        assert second[-1].text == "Done."

    run(go, fake.client())
    assert fake.requests[1].contents == [
        {"role": "user", "parts": [{"text": "Cut."}]},
        {
            "role": "model",
            "parts": [
                {"text": "plan", "thought": True},
                {
                    "functionCall": {"id": "c1", "args": {"at": 1}, "name": "cut"},
                    "thoughtSignature": base64.b64encode(b"\0s").decode(),
                },
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"id": "c1", "name": "cut", "response": {"ok": True}}}],
        },
    ]


def test_generate_content_and_a_tts_audio_part(fake: FakeGemini) -> None:
    pcm = b"\x01\x00\xff\x7f" * 4
    fake.queue(Json(response(audio(pcm), usage=usage_metadata(7, 30))))

    async def go(client: genai.Client) -> None:
        r = await client.aio.models.generate_content(model="gemini-tts", contents="Say hi")
        (p,) = parts_of(r)
        assert p.inline_data is not None
        assert p.inline_data.mime_type == "audio/L16;codec=pcm;rate=24000"
        assert p.inline_data.data == pcm
        assert r.usage_metadata and r.usage_metadata.candidates_token_count == 30

    run(go, fake.client())
    (req,) = fake.requests
    assert req.path == "/v1/models/gemini-tts:generateContent" and not req.stream
    assert req.query == {}


def test_a_json_reply_to_a_stream_is_one_event(fake: FakeGemini) -> None:
    fake.queue(Json(response(text("whole"))))

    async def go(client: genai.Client) -> None:
        (only,) = await collect(client)
        assert only.text == "whole"

    run(go, fake.client())


def test_the_sync_client_works_too(fake: FakeGemini) -> None:
    fake.queue(Json(response(text("sync"))), Stream([chunk(text("s")), chunk(text("ync"))]))
    with fake.client() as client:
        assert client.models.generate_content(model=MODEL, contents="x").text == "sync"
        got = [c.text for c in client.models.generate_content_stream(model=MODEL, contents="x")]
    assert got == ["s", "ync"]


# --- configuration -----------------------------------------------------------------------------


def test_env_vars_point_a_bare_client_at_the_fake(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("GEMINI_API_KEY", "env-key")
    fake.queue(Stream([chunk(text("via env"))]))

    async def go(client: genai.Client) -> None:
        assert [c.text for c in await collect(client)] == ["via env"]

    run(go, genai.Client(http_options=provider.http_options()))
    assert fake.requests[0].api_key == "env-key"


def test_google_api_key_wins_over_gemini_api_key(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    fake.queue(Json(response(text("x"))))
    with genai.Client(http_options=provider.http_options()) as client:
        client.models.generate_content(model=MODEL, contents="x")
    assert fake.requests[0].api_key == "google-key"


def test_no_api_key_is_a_value_error_at_construction(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"^No API key was provided\. Please pass a valid API key"):
        genai.Client()
    # A base URL alone does not help: the key is still required.
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    with pytest.raises(ValueError, match="No API key was provided"):
        genai.Client()
    assert fake.requests == []


def test_the_async_transport_is_httpx2_even_with_aiohttp_installed(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK takes aiohttp whenever it can import it (textual-dev installs it); reelcut's
    client names its transport, so errors and streams always come back in httpx2's types."""
    from google.genai import _api_client

    assert _api_client.has_aiohttp  # the dev environment has it: this test can fail
    assert genai.Client(api_key="k")._api_client._use_aiohttp()  # a bare client takes it
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)  # still honoured with the transport
    client = provider.make_client()
    assert not client._api_client._use_aiohttp()
    assert isinstance(client._api_client._async_httpx_client, httpx2.AsyncClient)
    assert client._api_client._http_options.base_url.rstrip("/") == fake.url.rstrip("/")


def test_parameters_json_schema_is_the_raw_schema_field() -> None:
    fields = types.FunctionDeclaration.model_fields
    assert "parameters_json_schema" in fields and "parameters" in fields
    assert "id" in types.FunctionCall.model_fields and "id" in types.FunctionResponse.model_fields


# --- errors ------------------------------------------------------------------------------------


def test_429_is_a_client_error_and_retry_after_is_on_the_response(fake: FakeGemini) -> None:
    fake.queue(Error(429, "Quota exceeded.", retry_after=7, retry_delay="7s"))

    async def go(client: genai.Client) -> None:
        exc = await api_error(client)
        assert type(exc) is errors.ClientError
        assert (exc.code, exc.status, exc.message) == (429, "RESOURCE_EXHAUSTED", "Quota exceeded.")
        assert isinstance(exc.response, httpx2.Response)
        assert exc.response.headers["retry-after"] == "7"
        # The real API's quota errors carry google.rpc.RetryInfo in the body too.
        assert exc.details["error"]["details"] == [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
        ]

    run(go, fake.client())
    assert len(fake.requests) == 1  # not retried, Retry-After or not


def test_503_is_a_server_error_and_is_not_retried(fake: FakeGemini) -> None:
    fake.queue(Error(503, "The model is overloaded."), Stream([chunk(text("late"))]))

    async def go(client: genai.Client) -> None:
        exc = await api_error(client)
        assert type(exc) is errors.ServerError
        assert (exc.code, exc.status, exc.message) == (
            503,
            "UNAVAILABLE",
            "The model is overloaded.",
        )
        assert isinstance(exc.response, httpx2.Response)
        assert "retry-after" not in exc.response.headers

    run(go, fake.client())
    assert len(fake.requests) == 1 and fake.pending == 1


def test_the_sdk_retries_only_when_asked(fake: FakeGemini) -> None:
    fake.queue(Error(503, "busy"), Stream([chunk(text("second try"))]))
    retry = types.HttpRetryOptions(attempts=2, initial_delay=0.01, max_delay=0.01, jitter=0)

    async def go(client: genai.Client) -> None:
        assert [c.text for c in await collect(client)] == ["second try"]

    run(go, fake.client(retry_options=retry))
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("status", "api_status"), [(400, "INVALID_ARGUMENT"), (403, "PERMISSION_DENIED")]
)
def test_400_and_403_are_client_errors(fake: FakeGemini, status: int, api_status: str) -> None:
    fake.queue(Error(status, "nope"))

    async def go(client: genai.Client) -> None:
        exc = await api_error(client)
        assert type(exc) is errors.ClientError
        assert (exc.code, exc.status, exc.message) == (status, api_status, "nope")
        assert str(exc).startswith(f"{status} {api_status}. ")

    run(go, fake.client())


def test_an_empty_queue_is_a_500_saying_so(fake: FakeGemini) -> None:
    async def go(client: genai.Client) -> None:
        exc = await api_error(client)
        assert type(exc) is errors.ServerError
        assert (exc.code, exc.message) == (500, NO_REPLY)

    run(go, fake.client())
    assert len(fake.requests) == 1


def test_a_stream_queued_for_generate_content_is_a_500(fake: FakeGemini) -> None:
    fake.queue(Stream([chunk(text("x"))]))

    async def go(client: genai.Client) -> None:
        with pytest.raises(errors.ServerError, match="Stream reply was queued"):
            await client.aio.models.generate_content(model=MODEL, contents="x")

    run(go, fake.client())


@pytest.mark.parametrize(
    ("reset", "raised"), [(False, httpx2.RemoteProtocolError), (True, httpx2.ReadError)]
)
def test_a_stream_cut_midway(fake: FakeGemini, reset: bool, raised: type[Exception]) -> None:
    """The chunks that arrived are yielded; then the httpx2 error escapes the ``async for``
    unwrapped (it is not an APIError). Nothing is retried."""
    parts = [chunk(text("one ")), chunk(text("two ")), chunk(text("three"))]
    fake.queue(Stream(parts, cut_after=2, reset=reset))

    async def go(client: genai.Client) -> None:
        got: list[str | None] = []
        with pytest.raises(raised) as info:
            async for c in stream(client):
                got.append(c.text)
        assert got == ["one ", "two "]
        assert not isinstance(info.value, errors.APIError)
        if not reset:
            assert "incomplete chunked read" in str(info.value)

    run(go, fake.client())
    assert len(fake.requests) == 1


def test_an_error_event_inside_the_stream(fake: FakeGemini) -> None:
    """An ``{"error": ...}`` event after the stream began raises the APIError from the
    ``async for``; its ``.response`` is the SDK's own HttpResponse, whose ``response_stream`` (the
    httpx2.Response) the SDK leaves open: close it, or asyncio logs "an error occurred during
    closing of asynchronous generator" when the loop shuts down."""
    fake.queue(Stream([chunk(text("partial"))], error=Error(500, "Internal error.")))

    async def go(client: genai.Client) -> None:
        got: list[str | None] = []
        with pytest.raises(errors.ServerError) as info:
            async for c in stream(client):
                got.append(c.text)
        assert got == ["partial"]
        exc = info.value
        assert (exc.code, exc.status, exc.message) == (500, "INTERNAL", "Internal error.")
        assert not isinstance(exc.response, httpx2.Response)
        held = getattr(exc.response, "response_stream", None)
        assert isinstance(held, httpx2.Response)
        await held.aclose()

    run(go, fake.client())


def test_delay_spaces_the_events(fake: FakeGemini) -> None:
    fake.queue(Stream([chunk(text("a")), chunk(text("b"))], delay=0.1))

    async def go(client: genai.Client) -> None:
        loop = asyncio.get_running_loop()
        times = [loop.time() async for _ in stream(client)]
        assert times[1] - times[0] >= 0.08

    run(go, fake.client())


def test_builders_are_the_wire_json() -> None:
    assert text("x") == {"text": "x"}
    assert thought("t") == {"text": "t", "thought": True}
    assert call("cut", {"at": 1}) == {"functionCall": {"name": "cut", "args": {"at": 1}}}
    assert call("cut", id="i", signature=b"s") == {
        "functionCall": {"name": "cut", "args": {}, "id": "i"},
        "thoughtSignature": "cw==",
    }
    assert chunk(text("x")) == {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "index": 0}]
    }
    assert usage_metadata(10, 2, cached=4, thoughts=3) == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 2,
        "cachedContentTokenCount": 4,
        "thoughtsTokenCount": 3,
        "totalTokenCount": 15,
    }
    assert Error(429, "q").body() == {
        "error": {"code": 429, "message": "q", "status": "RESOURCE_EXHAUSTED"}
    }
    assert Error(503, "u", retry_after=1.5).headers() == {"Retry-After": "1.5"}
