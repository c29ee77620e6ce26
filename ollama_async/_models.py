"""Model management and the other non-streaming endpoints, as methods of ``Client``."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import msgspec

from ._api_types import (
    ListResponse,
    ProcessResponse,
    ShowResponse,
)
from ._errors import InvalidRequestError
from ._progress import ProgressStream
from ._requests import check_model
from ._transport import Response, Transport

if TYPE_CHECKING:
    from .manage import FitEstimate

__all__ = ["ModelAPI", "check_digest", "file_digest"]

T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PIECE = 1 << 20


def check_digest(digest: str, field: str = "digest") -> str:
    """A blob digest must be ``sha256:`` and 64 lower-case hex digits (it goes in a URL path)."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidRequestError(field, f"{digest!r} is not of the form sha256:<64 hex>")
    return digest


def file_digest(path: str | os.PathLike[str]) -> str:
    """The ``sha256:…`` digest of a file, read in 1 MiB pieces (never all in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(_PIECE):
            h.update(piece)
    return "sha256:" + h.hexdigest()


class ModelAPI:
    """The endpoints besides generate and chat; mixed into :class:`Client`."""

    _transport: Transport
    max_line_bytes: int
    max_response_bytes: int

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        type: type[T] | None,
        *,
        model: str = "",
    ) -> T | None:
        limit = self.max_response_bytes
        return await self._transport.request_json(
            method, path, body, type, model=model, limit=limit
        )

    async def version(self) -> str:
        """The server's version string (``GET /api/version``).

        Example::

            print(await client.version())  # "0.13.99"
        """
        result = await self._call("GET", "/api/version", None, dict[str, str])
        assert result is not None
        return result.get("version", "")

    async def is_running(self) -> bool:
        """True when the server answers ``GET /api/version``; never raises for a dead server.

        Example::

            if not await client.is_running():
                print("start it with `ollama serve`")
        """
        from ._errors import OllamaError

        try:
            await self.version()
        except OllamaError:
            return False
        return True

    async def list(self) -> ListResponse:
        """The models on the server (``GET /api/tags``).

        Example::

            for m in (await client.list()).models:
                print(m.name, m.size)
        """
        result = await self._call("GET", "/api/tags", None, ListResponse)
        assert result is not None
        return result

    async def ps(self) -> ProcessResponse:
        """The models loaded in memory now (``GET /api/ps``).

        Example::

            for m in (await client.ps()).models:
                print(m.name, m.size_vram, m.expires_at)
        """
        result = await self._call("GET", "/api/ps", None, ProcessResponse)
        assert result is not None
        return result

    async def show(self, model: str, *, verbose: bool = False) -> ShowResponse:
        """Details of a model: template, parameters, model_info, capabilities.

        Example::

            info = await client.show("llama3.2")
            print(info.capabilities, info.details.parameter_size)
        """
        check_model(model)
        body: dict[str, Any] = {"model": model}
        if verbose:
            body["verbose"] = True
        result = await self._call("POST", "/api/show", body, ShowResponse, model=model)
        assert result is not None
        return result

    async def check_fit(self, model: str, *, context_length: int | None = None) -> FitEstimate:
        """Estimate whether ``model`` fits in this machine's free RAM/VRAM (from ``show``).

        Example::

            fit = await client.check_fit("llama3.2", context_length=8192)
            print(fit.summary())
        """
        from .manage import estimate_fit  # manage builds on the client, not the other way

        return estimate_fit(await self.show(model), context_length=context_length)

    async def copy(self, source: str, destination: str) -> None:
        """Copy a model under a new name (``POST /api/copy``).

        Example::

            await client.copy("llama3.2", "my-llama")
        """
        check_model(source, "source")
        check_model(destination, "destination")
        body = {"source": source, "destination": destination}
        await self._call("POST", "/api/copy", body, None, model=source)

    async def delete(self, model: str) -> None:
        """Delete a model (``DELETE /api/delete``); ``ModelNotFoundError`` when missing.

        Example::

            await client.delete("my-llama")
        """
        check_model(model)
        await self._call("DELETE", "/api/delete", {"model": model}, None, model=model)

    def pull(self, model: str, *, insecure: bool = False) -> ProgressStream:
        """Pull a model, as a progress stream; a lost connection resumes the download.

        Example::

            pull = client.pull("llama3.2")
            async for chunk in pull:
                print(chunk.status, f"{pull.progress.percent:.0f}%")
        """
        return self._progress("/api/pull", _model_body(model, insecure), model, resume=True)

    def push(self, model: str, *, insecure: bool = False) -> ProgressStream:
        """Push a model to its registry, as a progress stream.

        Example::

            await client.push("me/my-llama")
        """
        return self._progress("/api/push", _model_body(model, insecure), model, resume=False)

    def create(
        self,
        model: str,
        *,
        from_: str | None = None,
        gguf: str | os.PathLike[str] | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        quantize: str | None = None,
    ) -> ProgressStream:
        """Create a model from an existing one (``from_``), a local GGUF file (``gguf``: it is
        uploaded as a blob first) or blobs already on the server (``files``: name → digest).

        Example::

            await client.create("pirate", from_="llama3.2", system="Talk like a pirate.")
            await client.create("mine", gguf="model.gguf")
        """
        check_model(model)
        if sum(x is not None for x in (from_, gguf, files)) != 1:
            raise InvalidRequestError("from_", "give exactly one of from_, gguf or files")
        if from_ is not None:
            check_model(from_, "from_")
        body: dict[str, Any] = {"model": model}
        _put(
            body,
            **{"from": from_},
            files=dict(files) if files is not None else None,
            adapters=dict(adapters) if adapters is not None else None,
            template=template,
            license=license if license is None or isinstance(license, str) else list(license),
            system=system,
            parameters=dict(parameters) if parameters is not None else None,
            messages=[dict(m) for m in messages] if messages is not None else None,
            quantize=quantize,
        )
        if files is not None:
            for name, digest in files.items():
                check_digest(digest, field=f"files[{name!r}]")
        before = None
        if gguf is not None:
            path = Path(gguf)
            if not path.is_file():
                raise InvalidRequestError("gguf", f"no such file: {str(path)!r}")

            async def before_create() -> None:
                digest = await self.upload_blob(path)
                body["files"] = {path.name: digest}

            before = before_create
        return self._progress("/api/create", body, model, resume=False, before=before)

    async def blob_exists(self, digest: str) -> bool:
        """True when the server has the blob (``HEAD /api/blobs/sha256:…``).

        Example::

            await client.blob_exists("sha256:" + "0" * 64)  # False
        """
        check_digest(digest)
        resp = await self._transport.open("HEAD", f"/api/blobs/{digest}", None, ok_statuses=(404,))
        resp.finish()
        return resp.status == 200

    async def upload_blob(self, path: str | os.PathLike[str]) -> str:
        """Upload a file as a blob unless the server has it; return its digest.

        The sha256 is computed first, reading 1 MiB pieces in a thread, and the upload
        streams the file from disk: memory use stays flat whatever the file's size.

        Example::

            digest = await client.upload_blob("model.gguf")
        """
        try:
            digest = await anyio.to_thread.run_sync(file_digest, path)
        except OSError as exc:
            raise InvalidRequestError("path", f"cannot read {os.fspath(path)!r}: {exc}") from None
        if await self.blob_exists(digest):
            return digest
        f = await anyio.to_thread.run_sync(open, path, "rb")
        try:
            resp = await self._transport.open(
                "POST",
                f"/api/blobs/{digest}",
                None,
                data=f,
                headers={"Content-Type": "application/octet-stream"},
            )
            resp.finish()
        finally:
            f.close()
        return digest

    def _progress(
        self,
        path: str,
        body: dict[str, Any],
        model: str,
        *,
        resume: bool,
        before: Any = None,
    ) -> ProgressStream:
        transport = self._transport
        transport.session()

        async def open_response() -> Response:
            if before is not None:
                await before()
            return await transport.open("POST", path, _encode(body), model=model)

        return ProgressStream(
            open_response,
            transport.base_url + path,
            self.max_line_bytes,
            resume=resume,
            retry=transport.retry,
            model=model,
        )


def _model_body(model: str, insecure: bool) -> dict[str, Any]:
    check_model(model)
    body: dict[str, Any] = {"model": model}
    if insecure:
        body["insecure"] = True
    return body


def _put(body: dict[str, Any], **fields: Any) -> None:
    for key, value in fields.items():
        if value is not None:
            body[key] = value
