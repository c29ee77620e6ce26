"""Model names follow the server's rules (ollama/ollama types/model/name.go)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import Client, InvalidRequestError
from ollama_async._names import parse_model_name, same_model
from ollama_async.testing import Emulator

FIRST = "abcXYZ019_"
REST = FIRST + "-."
MODEL = st.builds(lambda a, b: a + b, st.sampled_from(FIRST), st.text(alphabet=REST, max_size=20))
NAMESPACE = st.builds(
    lambda a, b: a + b, st.sampled_from(FIRST), st.text(alphabet=FIRST + "-", max_size=20)
)
HOST = st.builds(
    lambda a, b, port: a + b + port,
    st.sampled_from(FIRST),
    st.text(alphabet=REST, max_size=20),
    st.sampled_from(["", ":5000", ":11434"]),
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["", "http://", "https://"]),
    host=HOST,
    namespace=NAMESPACE,
    model=MODEL,
    tag=st.none() | MODEL,
)
def test_every_name_the_server_accepts_parses(
    scheme: str, host: str, namespace: str, model: str, tag: str | None
) -> None:
    name = f"{scheme}{host}/{namespace}/{model}" + (f":{tag}" if tag else "")
    n = parse_model_name(name)
    assert (n.host, n.namespace, n.model, n.tag) == (host, namespace, model, tag or "latest")
    assert n.scheme == (scheme[:-3] if scheme else "https")
    short = f"{namespace}/{model}" + (f":{tag}" if tag else "")
    assert parse_model_name(short).model == model
    assert parse_model_name(model).namespace == "library"


@settings(max_examples=200, deadline=None)
@given(
    model=MODEL,
    bad=st.sampled_from([" ", "/", "\\", "!", "@", "#", "\x00", "\n", "é", "?", "*"]),
    at=st.integers(min_value=0),
)
def test_a_character_the_server_refuses_is_refused(model: str, bad: str, at: int) -> None:
    at %= len(model) + 1
    name = model[:at] + bad + model[at:]
    if bad == "/" and 0 < at < len(model):
        return  # a namespace/model split: valid when both halves are
    with pytest.raises(InvalidRequestError):
        parse_model_name(f"me/{name}:v1")


def test_server_rules_at_the_edges() -> None:
    assert parse_model_name("_private").model == "_private"
    assert parse_model_name("_ns/_m:_t").tag == "_t"
    n = parse_model_name("http://localhost:5000/me/mine:v1")
    assert (n.scheme, n.host, n.namespace, n.model, n.tag) == (
        "http", "localhost:5000", "me", "mine", "v1"
    )  # fmt: skip
    assert same_model("http://localhost:5000/me/mine", "localhost:5000/me/mine:latest")
    assert parse_model_name("m" * 80).model == "m" * 80
    for bad in ("m" * 81, "my.ns/m", "-x", ".x", "x:", "a/b/c/d", "../x", "ftp://h/n/m"):
        with pytest.raises(InvalidRequestError):
            parse_model_name(bad)


async def test_the_client_sends_such_names(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(InvalidRequestError):
            await c.show("bad name")
        assert emu.requests == []
        stream = c.pull("http://localhost:5000/me/_mine:v1", insecure=True)
        async for _ in stream:
            pass
    assert emu.requests[-1].json["model"] == "http://localhost:5000/me/_mine:v1"
