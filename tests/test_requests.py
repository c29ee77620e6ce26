"""Request building: every field's type checked at the call by every method, before anything
is sent; text JSON cannot carry refused naming its field; ``stream=`` in the fields.

The expected kinds below are written from the wire reference (``ollama-api.md`` §5), not read
from the library, so a wrong schema in the library fails here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ollama_async import Client, InvalidRequestError, Message
from ollama_async._requests import build_request, embed_body
from ollama_async.testing import Emulator

# -- what the wire takes (from the reference, not from the library) ----------------------


def _text(v: Any) -> bool:
    return type(v) is str


def _flag(v: Any) -> bool:
    return type(v) is bool


def _int_list(v: Any) -> bool:
    # msgspec, like JSON encoders, takes any Python array type (a set too) for a list
    array = isinstance(v, list | tuple | set | frozenset)
    return array and all(type(x) is int and abs(x) < 2**63 for x in v)


def _duration(v: Any) -> bool:
    return type(v) is str or (type(v) is int and abs(v) < 2**63) or _finite(v)


def _finite(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and abs(v) < 3.4e38


REQUEST_FIELDS: dict[str, Callable[[Any], bool]] = {
    "prompt": _text,
    "suffix": _text,
    "system": _text,
    "template": _text,
    "context": _int_list,
    "raw": _flag,
    "keep_alive": _duration,
    "think": lambda v: _flag(v) or v in ("low", "medium", "high"),
    "truncate": _flag,
    "shift": _flag,
    "logprobs": _flag,
    "top_logprobs": lambda v: type(v) is int and 0 <= v <= 20,
    "format": lambda v: v == "json" or isinstance(v, dict),
}
CHAT_FIELDS: dict[str, Callable[[Any], bool]] = {
    "messages": lambda v: isinstance(v, list | tuple | set) and not v,  # only [] in the pool
    "tools": lambda v: isinstance(v, list | tuple | set) and not v,
}

ANY_VALUE = st.one_of(
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.booleans(),
    st.lists(st.one_of(st.integers(), st.text(max_size=4), st.floats()), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.just(object()),
    st.sets(st.integers(), max_size=2),
)


def _names(field: str, error: InvalidRequestError) -> bool:
    return error.field == field or error.field.startswith((f"{field}[", f"{field}."))


# -- every request field, wrong types generated -------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(REQUEST_FIELDS)), ANY_VALUE)
def test_every_generate_field_of_a_wrong_type_is_refused_naming_it(field: str, value: Any) -> None:
    assume(value is not None and not REQUEST_FIELDS[field](value))
    for stream in (False, True):
        fields = {} if field == "prompt" else {field: value}
        prompt = value if field == "prompt" else "hi"
        with pytest.raises(InvalidRequestError) as info:
            build_request("m", prompt, None, fields, stream=stream)
        assert _names(field, info.value), (field, info.value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CHAT_FIELDS)), ANY_VALUE)
def test_every_chat_field_of_a_wrong_type_is_refused_naming_it(field: str, value: Any) -> None:
    assume(value is not None and not CHAT_FIELDS[field](value))
    messages = value if field == "messages" else [{"role": "user", "content": "hi"}]
    fields = {} if field == "messages" else {field: value}
    with pytest.raises(InvalidRequestError) as info:
        build_request("m", None, messages, fields, stream=True)
    assert _names(field, info.value), (field, info.value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["role", "content", "thinking", "tool_name", "tool_calls"]), ANY_VALUE)
def test_message_fields_are_checked_in_mappings_and_in_message_structs(
    name: str, value: Any
) -> None:
    assume(value is not None and not (_text(value) and name != "tool_calls"))
    assume(not (name == "tool_calls" and isinstance(value, list | tuple | set) and not value))
    as_mapping = {"role": "user", name: value}
    as_struct = Message(role="user")
    setattr(as_struct, name, value)  # the constructor checks nothing: the call must
    for message in (as_mapping, as_struct):
        with pytest.raises(InvalidRequestError) as info:
            build_request("m", None, [{"role": "system"}, message], {}, stream=False)
        assert _names(f"messages[1].{name}", info.value), info.value


def test_the_issues_examples_name_their_field() -> None:
    cases = {"system": 123, "raw": "yes", "context": ["a"], "suffix": b"x", "think": "maybe"}
    cases |= {"keep_alive": [], "format": 3, "top_logprobs": 21, "images": "x.png"}
    for field, value in cases.items():
        with pytest.raises(InvalidRequestError) as info:
            build_request("m", "hi", None, {field: value}, stream=True)
        assert _names(field, info.value), info.value
    with pytest.raises(InvalidRequestError, match="unknown message field; did you mean 'content'"):
        build_request("m", None, [{"role": "user", "contnet": "hi"}], {}, stream=True)


def test_right_types_pass_and_are_sent_as_given() -> None:
    fields: dict[str, Any] = {
        "suffix": "end", "system": "s", "template": "t", "context": (1, 2), "raw": False,
        "keep_alive": "5m", "think": "low", "truncate": True, "shift": False,
        "logprobs": True, "top_logprobs": 20, "format": {"type": "object"},
    }  # fmt: skip
    r = build_request("m", "hi", None, fields, stream=False)
    assert (r.context, r.keep_alive, r.think, r.top_logprobs) == ([1, 2], "5m", "low", 20)
    assert build_request("m", "hi", None, {"keep_alive": 30.5}, stream=True).keep_alive == 30.5


# -- text JSON cannot carry: refused at the call, naming the field ------------------------

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["prompt", "system", "template", "suffix", "keep_alive", "options", "format"]),
    st.text(max_size=6),
    SURROGATE,
    st.text(max_size=6),
)
def test_a_lone_surrogate_in_any_generate_text_names_the_field(
    field: str, before: str, bad: str, after: str
) -> None:
    text = before + bad + after
    values: dict[str, Any] = {
        "options": {"stop": ["ok", text]},
        "format": {"type": "object", "description": text},
    }
    fields = {} if field == "prompt" else {field: values.get(field, text)}
    with pytest.raises(InvalidRequestError) as info:
        build_request("m", text if field == "prompt" else "hi", None, fields, stream=True)
    expected = {"options": "options.stop[1]", "format": "format.description"}.get(field, field)
    assert info.value.field == expected
    assert "surrogate" in str(info.value)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["content", "thinking", "tool_name", "role"]), st.text(max_size=5), SURROGATE
)
def test_a_lone_surrogate_in_a_message_names_the_message_field(
    name: str, before: str, bad: str
) -> None:
    for message in ({"role": "user", name: before + bad}, Message(role="user")):
        if isinstance(message, Message):
            setattr(message, name, before + bad)
        with pytest.raises(InvalidRequestError) as info:
            build_request("m", None, [message], {}, stream=False)
        assert info.value.field == f"messages[0].{name}"


def test_a_value_json_cannot_hold_is_refused_with_its_path() -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request("m", "hi", None, {"format": {"properties": {"x": object()}}}, stream=True)
    assert info.value.field == "format.properties.x"


# -- every method refuses at the call, before anything is sent ----------------------------

BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("prompt", {"prompt": "bad \udc80 text"}, "prompt"),
    ("system", {"system": 123}, "system"),
    ("raw", {"raw": "yes"}, "raw"),
    ("context", {"context": ["a"]}, "context[0]"),
    ("suffix", {"suffix": b"x"}, "suffix"),
    ("think", {"think": "maybe"}, "think"),
    ("keep_alive", {"keep_alive": []}, "keep_alive"),
    ("format", {"format": 3}, "format"),
    ("option", {"options": {"top_p": 1.5}}, "options.top_p"),
]


@pytest.mark.parametrize("method", ["generate", "stream", "stream_tokens", "stream_bytes"])
@pytest.mark.parametrize(("case", "kwargs", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
async def test_every_method_refuses_at_the_call_and_sends_nothing(
    emu: Emulator, method: str, case: str, kwargs: dict[str, Any], field: str
) -> None:
    kwargs = {"prompt": "hi", **kwargs}
    async with Client(emu.url) as c:
        call = getattr(c, method)
        with pytest.raises(InvalidRequestError) as info:
            result = call("tiny", **kwargs)  # a stream method raises here, not when iterated
            if method == "generate":
                await result
        assert info.value.field == field
        if case != "suffix":  # chat has no suffix
            messages = [{"role": "user", "content": kwargs.pop("prompt")}]
            fields = {k: v for k, v in kwargs.items() if k not in ("system", "raw", "context")}
            if fields or case == "prompt":
                with pytest.raises(InvalidRequestError):
                    await c.chat("tiny", messages, **fields)
    assert emu.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"input": "a \ud800"}, "input"),
        ({"input": ["ok", 3]}, "input[1]"),
        ({"input": "a", "truncate": "no"}, "truncate"),
        ({"input": "a", "dimensions": 0}, "dimensions"),
        ({"input": "a", "dimensions": True}, "dimensions"),
        ({"input": "a", "keep_alive": {}}, "keep_alive"),
        ({"input": "a", "options": {"num_ctx": 0}}, "options.num_ctx"),
    ],
)
async def test_embed_checks_every_field_at_the_call(
    emu: Emulator, kwargs: dict[str, Any], field: str
) -> None:
    async with Client(emu.url) as c:
        with pytest.raises(InvalidRequestError) as info:
            await c.embed("nomic-embed-text", **kwargs)
        assert info.value.field == field
        if "input" in kwargs and field.startswith("input") and isinstance(kwargs["input"], str):
            with pytest.raises(InvalidRequestError):
                await c.embeddings("nomic-embed-text", kwargs["input"])
    assert emu.requests == []


async def test_embed_sends_a_tuple_as_a_list(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        r = await c.embed("nomic-embed-text", ("a", "b"), dimensions=8)
    assert len(r.embeddings) == 2
    assert emu.requests[-1].json == {
        "model": "nomic-embed-text",
        "input": ["a", "b"],
        "dimensions": 8,
    }
    assert embed_body("m", prompt="", keep_alive=None) == {"model": "m", "prompt": ""}


# -- stream= in the fields ----------------------------------------------------------------


async def test_stream_true_in_a_body_is_accepted_by_the_stream_methods(emu: Emulator) -> None:
    body = {"model": "tiny", "prompt": "hello", "stream": True, "options": {"num_predict": 3}}
    async with Client(emu.url) as c:
        async with c.stream(**body) as s:
            assert [chunk.done async for chunk in s][-1]
        tokens = [t async for t in c.stream_tokens(**body)]
        raw = b"".join([b async for b in c.stream_bytes(**body)])
        whole = await c.generate(**{**body, "stream": False})
        chat = await c.chat("tiny", [{"role": "user", "content": "hi"}], stream=False)
    assert len(tokens) == 3 and raw.count(b"\n") == 4
    assert whole.done and chat.done
    assert [r.json["stream"] for r in emu.requests] == [True, True, True, False, False]


async def test_stream_true_on_generate_points_to_the_stream_methods() -> None:
    async with Client("http://127.0.0.1:9") as c:
        for call in (
            c.generate("tiny", "hi", stream=True),
            c.chat("tiny", [{"role": "user", "content": "hi"}], stream=True),
        ):
            with pytest.raises(InvalidRequestError) as info:
                await call
            assert info.value.field == "stream"
            assert "stream_tokens()" in str(info.value) and "did you mean" not in str(info.value)
        with pytest.raises(InvalidRequestError, match="use generate"):
            c.stream("tiny", "hi", stream=False)
        with pytest.raises(InvalidRequestError) as info:
            c.stream("tiny", "hi", stream="yes")  # type: ignore[typeddict-item]
        assert info.value.field == "stream"


def test_an_unknown_request_field_keeps_its_hint() -> None:
    with pytest.raises(InvalidRequestError, match="unknown request field; did you mean 'system'"):
        build_request("m", "hi", None, {"sytem": "x"}, stream=True)
    with pytest.raises(InvalidRequestError, match=r"unknown request field$"):
        build_request("m", "hi", None, {"zzzzzz": 1}, stream=True)


def test_none_means_unset_for_every_field() -> None:
    fields = dict.fromkeys(REQUEST_FIELDS.keys() - {"prompt"} | {"options", "images"})
    r = build_request("m", "hi", None, fields, stream=True)
    assert r == build_request("m", "hi", None, {}, stream=True)
    chat = build_request("m", None, [], {"tools": None, "format": None}, stream=False)
    assert chat.tools is None and chat.format is None


async def test_tool_results_with_a_call_id_and_think_max_are_sent(emu: Emulator) -> None:
    """The wire's ``tool_call_id`` on a tool result and ``think="max"`` (ollama-api.md) go
    out as given, from a mapping and from a ``Message``."""
    request = build_request(
        "qwen3",
        None,
        [
            {"role": "tool", "content": "21", "tool_name": "add", "tool_call_id": "call_1"},
            Message(role="tool", content="4", tool_name="mul", tool_call_id="call_2"),
        ],
        {"think": "max"},
        stream=False,
    )
    assert [m.tool_call_id for m in request.messages] == ["call_1", "call_2"]
    async with Client(emu.url) as c:
        await c.chat("qwen3", request.messages, think="max")
    sent = emu.requests[-1].json
    assert sent["think"] == "max"
    assert [m["tool_call_id"] for m in sent["messages"]] == ["call_1", "call_2"]
    with pytest.raises(InvalidRequestError) as info:
        build_request("qwen3", "hi", None, {"think": "maximum"}, stream=False)
    assert info.value.field == "think"
