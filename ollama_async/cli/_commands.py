"""The commands that map onto one API call each: generate, pull, list, ps, show, rm, cp,
embed. Every handler writes its result to ``io.out`` and anything else to ``io.err``."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

import anyio

from .._client import Client
from .._errors import InvalidRequestError
from ._pull_view import pull_view
from ._registry import Arg, Streams, command, open_client
from ._views import size, write_table

__all__ = ["format_value", "option_pair", "pull_with_progress", "read_prompt", "stream_text"]


# -- generate --------------------------------------------------------------------------------


def option_pair(text: str) -> tuple[str, Any]:
    """``key=value`` for ``-o``; a value that reads as a JSON number, boolean or list is
    taken as one, anything else stays a string.

    >>> option_pair("temperature=0.2"), option_pair("stop=[\\"END\\"]"), option_pair("x=on")
    (('temperature', 0.2), ('stop', ['END']), ('x', 'on'))
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if value is None or isinstance(value, (str, dict)):
        value = raw
    return key.strip(), value


def format_value(text: str) -> str | dict[str, Any]:
    """``--format``: ``json``, a JSON schema inline, or the path of a file holding one."""
    if text == "json":
        return "json"
    source = "--format"
    if not text.lstrip().startswith("{"):
        try:
            with open(text, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise InvalidRequestError(
                source, f"expected 'json', a JSON schema or a schema file; could not read "
                f"{text!r} ({exc.strerror or exc})"
            ) from None  # fmt: skip
        source = f"--format file {text!r}"
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise InvalidRequestError(source, f"the schema is not valid JSON ({exc})") from None
    if not isinstance(schema, dict):
        raise InvalidRequestError(source, "a JSON schema must be an object")
    return schema


async def read_prompt(words: list[str], stdin: TextIO) -> str:
    """The prompt: the words, with ``-`` standing for stdin; stdin alone when no word is
    given and stdin is not a terminal."""
    if not words:
        if stdin.isatty():
            raise InvalidRequestError("prompt", "give a prompt, or pipe one in (or use '-')")
        words = ["-"]
    piped = await anyio.to_thread.run_sync(stdin.read) if "-" in words else ""
    prompt = " ".join(piped.strip() if w == "-" else w for w in words)
    if not prompt.strip():
        raise InvalidRequestError("prompt", "the prompt is empty")
    return prompt


async def stream_text(client: Client, model: str, prompt: str, io: Streams, **fields: Any) -> None:
    """Stream the text to ``io.out`` as it comes; the statistics go to ``io.err``."""
    s = client.stream_tokens(model, prompt=prompt, **fields)
    last = ""
    async for piece in s:
        io.out.write(piece)
        io.out.flush()
        last = piece or last
    if not last.endswith("\n"):
        io.out.write("\n")
    io.out.flush()
    if s.final is not None and s.final.tokens_per_second:
        io.err.write(f"[{s.final.eval_count} tokens, {s.final.tokens_per_second:.1f} tokens/s]\n")


@command(
    "generate", "stream a completion: the text to stdout, statistics to stderr",
    Arg("model", help="the model, e.g. llama3.2"),
    Arg("prompt", nargs="*", help="the prompt; '-' reads stdin, as does no prompt when "
        "stdin is piped"),
    Arg("--system", help="a system prompt"),
    Arg("--format", type=str, metavar="FORMAT", help="'json', or a JSON schema: inline or "
        "the path of a file holding one"),
    Arg("-o", "--option", dest="options", action="append", type=option_pair, default=[],
        metavar="KEY=VALUE", help="a model option such as temperature=0 or num_predict=64; "
        "repeat for more (numbers, booleans and lists are read as JSON)"),
)  # fmt: skip
async def generate(args: argparse.Namespace, io: Streams) -> int:
    fields: dict[str, Any] = {}
    if args.system is not None:
        fields["system"] = args.system
    if args.format is not None:
        fields["format"] = format_value(args.format)
    if args.options:
        fields["options"] = dict(args.options)
    prompt = await read_prompt(args.prompt, io.stdin)
    async with open_client(args) as client:
        await stream_text(client, args.model, prompt, io, **fields)
    return 0


# -- model management ------------------------------------------------------------------------


async def pull_with_progress(client: Client, model: str, out: TextIO) -> None:
    """Pull ``model``, drawing its progress on ``out``."""
    pull = client.pull(model)
    with pull_view(out) as view:
        async for chunk in pull:
            view.update(chunk, pull.progress)
        view.finish(pull.progress)


@command("pull", "pull a model, with progress", Arg("model", help="the model to pull"))
async def pull(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        await pull_with_progress(client, args.model, io.out)
    return 0


@command("list", "list the models on the server")
async def list_models(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        models = (await client.list()).models
    rows = [[m.name, m.digest[:12], size(m.size), m.modified_at[:19]] for m in models]
    write_table(io.out, ["NAME", "ID", "SIZE", "MODIFIED"], rows, right=[2])
    return 0


@command("ps", "list the models loaded in memory")
async def ps(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        models = (await client.ps()).models
    rows = [[m.name, size(m.size), size(m.size_vram), m.expires_at[:19]] for m in models]
    write_table(io.out, ["NAME", "SIZE", "VRAM", "UNTIL"], rows, right=[1, 2])
    return 0


@command("show", "show a model's details and whether it fits this machine",
         Arg("model", help="the model to show"))  # fmt: skip
async def show(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        info = await client.show(args.model)
    from ..manage._hardware import estimate_fit

    d = info.details
    rows = [
        ["family", d.family if d else ""],
        ["parameters", d.parameter_size if d else ""],
        ["quantization", d.quantization_level if d else ""],
        ["capabilities", ", ".join(info.capabilities or [])],
    ]
    for key, value in sorted((info.model_info or {}).items()):
        if key.endswith(("context_length", "embedding_length", "block_count")):
            rows.append([key.rsplit(".", 1)[-1], str(value)])
    rows.append(["hardware fit", estimate_fit(info).summary()])
    write_table(io.out, ["FIELD", "VALUE"], rows)
    return 0


@command("rm", "delete models", Arg("models", nargs="+", help="the models to delete"))
async def rm(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        for model in args.models:
            await client.delete(model)
            io.out.write(f"deleted '{model}'\n")
    return 0


@command(
    "cp", "copy a model under a new name",
    Arg("source", help="the model to copy"), Arg("destination", help="the new name"),
)  # fmt: skip
async def cp(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        await client.copy(args.source, args.destination)
    io.out.write(f"copied '{args.source}' to '{args.destination}'\n")
    return 0


@command("embed", "embed texts: one JSON vector per line",
         Arg("model", help="an embedding model, e.g. nomic-embed-text"),
         Arg("text", nargs="+", help="the texts to embed"))  # fmt: skip
async def embed(args: argparse.Namespace, io: Streams) -> int:
    async with open_client(args) as client:
        r = await client.embed(args.model, args.text)
    for vec in r.embeddings:
        io.out.write(json.dumps(vec) + "\n")
    return 0
