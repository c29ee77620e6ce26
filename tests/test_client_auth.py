"""Credentials as the client uses them: URL userinfo becomes Basic auth and shows nowhere,
one Authorization header goes out, and conflicting sources are refused at construction."""

from __future__ import annotations

import base64
import traceback

import pytest

from ollama_async import Client, InvalidRequestError, OllamaError, RetryPolicy
from ollama_async.testing import Emulator

SECRET = "hunter2-s3cret"


def with_userinfo(url: str, user: str = "alice", password: str = SECRET) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"


def everything_shown(c: Client, exc: BaseException) -> str:
    chain = "".join(traceback.format_exception(exc))
    return " ".join([repr(c), c.base_url, str(exc), repr(exc), repr(exc.__cause__), chain])


async def test_url_credentials_go_out_as_basic_auth_only(emu: Emulator) -> None:
    async with Client(with_userinfo(emu.url)) as c:
        assert SECRET not in repr(c) and SECRET not in c.base_url
        await c.generate("tiny", "hi")
    sent = {k.lower(): v for k, v in emu.requests[-1].headers.items()}
    assert sent["authorization"] == "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()


async def test_url_credentials_never_show_in_errors() -> None:
    c = Client(with_userinfo("http://127.0.0.1:9"), retry=RetryPolicy(retries=0))
    async with c:
        with pytest.raises(OllamaError) as info:
            await c.generate("tiny", "hi")
    shown = everything_shown(c, info.value)
    assert SECRET not in shown
    assert base64.b64encode(f"alice:{SECRET}".encode()).decode() not in shown


def test_url_credentials_and_an_api_key_conflict_at_construction() -> None:
    with pytest.raises(InvalidRequestError) as info:
        Client(with_userinfo("http://127.0.0.1:9"), api_key="sk-other")
    assert info.value.field == "api_key"
    assert SECRET not in str(info.value) and "sk-other" not in str(info.value)


@pytest.mark.parametrize("name", ["authorization", "AUTHORIZATION", "Authorization"])
async def test_one_authorization_header_whatever_its_case(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "from-the-environment")
    async with Client(emu.url, headers={name: "Bearer explicit", "x-trace": "1"}) as c:
        await c.generate("tiny", "hi")
    sent = emu.requests[-1].headers
    auth = [v for k, v in sent.items() if k.lower() == "authorization"]
    assert auth == ["Bearer explicit"]  # the explicit header wins over the environment's key
    assert [v for k, v in sent.items() if k.lower() == "x-trace"] == ["1"]


async def test_the_environment_key_is_a_fallback(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "from-the-environment")
    async with Client(emu.url) as c:
        await c.version()
    sent = {k.lower(): v for k, v in emu.requests[-1].headers.items()}
    assert sent["authorization"] == "Bearer from-the-environment"


def test_a_bad_port_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(InvalidRequestError) as info:
        Client(with_userinfo("http://127.0.0.1:99999"))
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("method", ["generate", "chat", "stream", "stream_tokens", "stream_bytes"])
async def test_headers_per_call_win_over_the_clients(emu: Emulator, method: str) -> None:
    async with Client(emu.url, headers={"X-Tenant": "default", "X-Keep": "1"}) as c:
        call = getattr(c, method)
        extra = {"headers": {"x-tenant": "acme", "X-Request-Id": "42"}}
        if method == "chat":
            result = call("tiny", [{"role": "user", "content": "hi"}], **extra)
        else:
            result = call("tiny", "hi", **extra)
        if method.startswith("stream"):
            async for _ in result:
                pass
        else:
            await result
        sent = emu.requests[-1].headers
        assert [v for k, v in sent.items() if k.lower() == "x-tenant"] == ["acme"]
        assert [v for k, v in sent.items() if k.lower() == "x-request-id"] == ["42"]
        assert [v for k, v in sent.items() if k.lower() == "x-keep"] == ["1"]
        await c.generate("tiny", "hi")  # the next call is back to the client's own headers
        assert {k.lower(): v for k, v in emu.requests[-1].headers.items()}["x-tenant"] == "default"


async def test_a_bad_header_per_call_is_refused_at_the_call(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        before = len(emu.requests)
        with pytest.raises(InvalidRequestError) as info:
            c.stream("tiny", "hi", headers={"X-Bad": "a\r\nInjected: 1"})
        assert "X-Bad" in info.value.field
        with pytest.raises(InvalidRequestError):
            await c.generate("tiny", "hi", headers=["not", "a", "mapping"])  # type: ignore[typeddict-item]
        assert len(emu.requests) == before
