"""Are local models current? Compare each model's digest with its registry's manifest now."""

from __future__ import annotations

import hashlib
import ssl as _ssl
from dataclasses import dataclass

import anyio

from .._client import Client
from .._config import RetryPolicy, Timeouts
from .._errors import OllamaError, ResponseError
from .._names import parse_model_name
from .._transport import Transport

__all__ = ["UpdateStatus", "check_updates"]

_MANIFEST_LIMIT = 4 * 1024 * 1024
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
    timeout: float = 15.0,  # noqa: ASYNC109 - each registry request's limit, not the call's
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
    scheme = "http" if insecure else "https"
    limit = anyio.CapacityLimiter(concurrency)
    registries: dict[str, Transport] = {}
    results: dict[int, UpdateStatus] = {}

    def registry(host: str) -> Transport:
        if host not in registries:
            registries[host] = Transport(
                f"{scheme}://{host}", session=None, headers={"Accept": _ACCEPT},
                timeouts=Timeouts(connect=timeout, idle=timeout, total=timeout),
                retry=RetryPolicy(retries=0), ssl=ssl, max_connections=concurrency,
            )  # fmt: skip
        return registries[host]

    async def one(index: int, name: str) -> None:
        digest = local.get(name, "").removeprefix("sha256:")
        if not digest:
            results[index] = UpdateStatus(name, "unknown", "", detail="not a local model")
            return
        n = parse_model_name(name)
        path = f"/v2/{n.namespace}/{n.model}/manifests/{n.tag}"
        try:
            async with limit:
                resp = await registry(n.host).open("GET", path)
                try:
                    body = await resp.read(_MANIFEST_LIMIT)
                finally:
                    resp.finish()
        except ResponseError as exc:
            results[index] = UpdateStatus(name, "unknown", digest, detail=f"HTTP {exc.status}")
            return
        except OllamaError as exc:
            results[index] = UpdateStatus(name, "unknown", digest, detail=type(exc).__name__)
            return
        remote = resp.headers.get("Docker-Content-Digest", "").removeprefix("sha256:")
        remote = remote or hashlib.sha256(body).hexdigest()
        status = "up to date" if remote == digest else "outdated"
        results[index] = UpdateStatus(name, status, digest, remote)

    try:
        async with anyio.create_task_group() as tg:
            for index, name in enumerate(names):
                tg.start_soon(one, index, name)
    finally:
        for transport in registries.values():
            await transport.aclose()
    return [results[i] for i in range(len(names))]
