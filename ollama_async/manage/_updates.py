"""Are local models current? Compare each model's digest with its registry's manifest now."""

from __future__ import annotations

import asyncio
import hashlib
import ssl as _ssl
from dataclasses import dataclass

import aiohttp

from .._client import Client
from .._names import parse_model_name

__all__ = ["UpdateStatus", "check_updates"]

_ACCEPT = (
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.manifest.v1+json"
)


@dataclass(frozen=True)
class UpdateStatus:
    """One model: ``status`` is ``"up to date"``, ``"outdated"`` or ``"unknown"``."""

    model: str
    status: str
    local_digest: str
    remote_digest: str | None = None
    detail: str = ""


async def check_updates(
    client: Client,
    *,
    models: list[str] | None = None,
    insecure: bool = False,
    ssl: bool | _ssl.SSLContext = True,
    timeout: float = 15.0,
    concurrency: int = 4,
) -> list[UpdateStatus]:
    """Compare each local model's digest (from ``list``) with the manifest its registry serves
    now (``GET /v2/<namespace>/<model>/manifests/<tag>``, https unless ``insecure``, the host
    taken from the model name). Nothing is pulled.

    The remote digest is the registry's ``Docker-Content-Digest`` header, else the sha256 of
    the manifest bytes (which is how Ollama computes the local one).

    Example::

        for s in await check_updates(client):
            print(s.model, s.status)
    """
    local = {m.name: m.digest for m in (await client.list()).models}
    names = models if models is not None else list(local)
    sem = asyncio.Semaphore(concurrency)
    scheme = "http" if insecure else "https"
    limits = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=limits) as session:

        async def one(name: str) -> UpdateStatus:
            digest = local.get(name, "").removeprefix("sha256:")
            if not digest:
                return UpdateStatus(name, "unknown", "", detail="not a local model")
            n = parse_model_name(name)
            url = f"{scheme}://{n.host}/v2/{n.namespace}/{n.model}/manifests/{n.tag}"
            try:
                async with sem, session.get(url, headers={"Accept": _ACCEPT}, ssl=ssl) as r:
                    if r.status != 200:
                        return UpdateStatus(name, "unknown", digest, detail=f"HTTP {r.status}")
                    body = await r.read()
                    remote = r.headers.get("Docker-Content-Digest", "").removeprefix("sha256:")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                return UpdateStatus(name, "unknown", digest, detail=type(exc).__name__)
            remote = remote or hashlib.sha256(body).hexdigest()
            status = "up to date" if remote == digest else "outdated"
            return UpdateStatus(name, status, digest, remote)

        return list(await asyncio.gather(*(one(name) for name in names)))
