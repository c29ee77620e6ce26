"""check_updates against a registry on loopback; nothing is pulled."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ollama_async import Client
from ollama_async.manage._updates import check_updates
from ollama_async.testing import Emulator


@pytest.fixture
async def registry() -> AsyncIterator[tuple[str, dict[str, tuple[bytes, str | None]]]]:
    manifests: dict[str, tuple[bytes, str | None]] = {}
    seen: list[str] = []

    async def manifest(request: web.Request) -> web.Response:
        seen.append(request.path)
        key = (
            f"{request.match_info['ns']}/{request.match_info['model']}:{request.match_info['tag']}"
        )
        if key not in manifests:
            return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN"}]}, status=404)
        body, header = manifests[key]
        headers = {"Docker-Content-Digest": header} if header else {}
        return web.Response(body=body, headers=headers, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/{ns}/{model}/manifests/{tag}", manifest)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"127.0.0.1:{port}", manifests
    await runner.cleanup()


async def test_up_to_date_outdated_and_unknown(
    emu: Emulator, registry: tuple[str, dict[str, tuple[bytes, str | None]]]
) -> None:
    host, manifests = registry
    async with Client(emu.url) as c:
        for name in ("current", "changed", "hashed", "gone"):
            await c.pull(f"{host}/library/{name}")
        local = {m.name: m.digest for m in (await c.list()).models}
        manifests["library/current:latest"] = (
            b"{}",
            "sha256:" + local[f"{host}/library/current:latest"],
        )
        manifests["library/changed:latest"] = (b"{}", "sha256:" + "f" * 64)
        body = b'{"schemaVersion":2}'
        manifests["library/hashed:latest"] = (body, None)  # no header: the body's sha256 counts
        pulls_before = sum(r.path == "/api/pull" for r in emu.requests)
        result = {s.model.split("/")[-1]: s for s in await check_updates(c, insecure=True,
                  models=[n for n in local if n.startswith(host)])}  # fmt: skip
        assert sum(r.path == "/api/pull" for r in emu.requests) == pulls_before  # nothing pulled
    assert result["current:latest"].status == "up to date"
    assert result["changed:latest"].status == "outdated"
    assert result["hashed:latest"].status == "outdated"
    assert result["hashed:latest"].remote_digest == hashlib.sha256(body).hexdigest()
    assert result["gone:latest"].status == "unknown" and "404" in result["gone:latest"].detail


async def test_unreachable_registry_is_unknown(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        await c.pull("127.0.0.1:9/library/x")  # a local model whose registry is not there
        statuses = await check_updates(c, insecure=True, models=["127.0.0.1:9/library/x:latest"],
                                       timeout=5)  # fmt: skip
    assert statuses[0].status == "unknown"
