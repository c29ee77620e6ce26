"""Secrets stay secret, headers cannot be split, prompts stay out of logs, TLS is verified."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from ollama_async import Client, InvalidRequestError, OllamaError, RetryPolicy, TLSError
from ollama_async.testing import Emulator, Fault

KEY = "sk-very-secret-key-4711"


async def test_api_key_never_in_reprs_errors_or_logs(
    emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    errors: list[OllamaError] = []
    async with Client(emu.url, retry=RetryPolicy(retries=0)) as c:
        assert KEY not in repr(c) and KEY not in str(c)
        assert KEY not in repr(c.transport.__dict__.get("_client_timeout"))
        for fault in (
            Fault(status=500),
            Fault(status=401, body='{"error":"unauthorized"}'),
            Fault(disconnect_after=2),
            Fault(error_after=1),
            Fault(malformed_after=1),
        ):
            emu.inject(fault)
            try:
                async for _ in c.stream_tokens("llama3.2", prompt="hi"):
                    pass
            except OllamaError as exc:
                errors.append(exc)
        try:
            await c.generate("no-such-model", "hi")
        except OllamaError as exc:
            errors.append(exc)
    async with Client("http://127.0.0.1:9", retry=RetryPolicy(retries=0)) as dead:
        try:
            await dead.generate("m", "hi")
        except OllamaError as exc:
            errors.append(exc)
    assert len(errors) == 7
    for exc in errors:
        assert KEY not in str(exc) and KEY not in repr(exc) and KEY not in repr(exc.args)
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in emu.requests)
    assert KEY not in caplog.text


async def test_no_prompt_text_in_logs_at_any_level(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_prompt = "my medical history is PRIVATE-7f3a"
    async with Client(emu.url) as c:
        await c.generate("llama3.2", secret_prompt)
        async for _ in c.stream_tokens(
            "llama3.2", messages=[{"role": "user", "content": secret_prompt}]
        ):
            pass
    assert "PRIVATE-7f3a" not in caplog.text
    assert any("/api/generate" in r.getMessage() for r in caplog.records)  # logging works


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "ok\r\nX-Injected: 1"}, {"X-A": "ok\nX-Injected: 1"}, {"X-B\r\nX": "v"},
     {"X-C": "nul\x00byte"}, {"X-D: forged": "v"}, {"X E": "v"}, {"": "v"}],
)  # fmt: skip
async def test_header_splitting_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError):
        Client("http://127.0.0.1:9", headers=headers)


async def test_model_names_and_digests_checked_before_sending(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        for bad in ("../../etc/passwd", "a b", "x\r\ny", "", "m\x00"):
            with pytest.raises(InvalidRequestError):
                await c.generate(bad, "hi")
            with pytest.raises(InvalidRequestError):
                await c.show(bad)
        with pytest.raises(InvalidRequestError):
            await c.blob_exists("sha256:" + "a" * 63 + "/")
    assert emu.requests == []


def make_cert(tmp: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_is_verified_by_default_and_an_ssl_context_can_trust_a_ca(
    tmp_path: Path,
) -> None:
    cert, key = make_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "tls"})

    app = web.Application()
    app.router.add_get("/api/version", version)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"https://127.0.0.1:{port}"
    try:
        async with Client(url, retry=RetryPolicy(retries=2, backoff=0.01)) as c:
            with pytest.raises(TLSError) as info:
                await c.version()
            assert "ssl=" in str(info.value)
        trusted = ssl.create_default_context(cafile=str(cert))
        async with Client(url, ssl=trusted) as c:
            assert await c.version() == "tls"
    finally:
        await runner.cleanup()
