"""Tools from Python functions: descriptions read from Google, NumPy and reST docstrings."""

from __future__ import annotations

import inspect

from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import Client, tool_from_function
from ollama_async._tools import parse_docstring
from ollama_async.testing import Emulator

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: n not in {"args", "returns", "param", "type", "raises"}
)


@st.composite
def docstrings(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """A docstring in one of the three styles, with what it should parse into."""
    summary = draw(st.lists(SENTENCE, min_size=1, max_size=3))
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    params = {n: draw(st.lists(SENTENCE, min_size=1, max_size=3)) for n in names}
    style = draw(st.sampled_from(["google", "numpy", "rest"]))
    blank_before = draw(st.booleans())
    blank_between = draw(st.booleans())
    lines = list(summary)
    if blank_before:
        lines.append("")
    if style == "google":
        lines.append(draw(st.sampled_from(["Args:", "args:", "Arguments:", "Parameters:"])))
        for n, parts in params.items():
            typed = draw(st.sampled_from(["", " (int)", " (str, optional)"]))
            lines.append(f"    {n}{typed}: {parts[0]}")
            lines += [f"        {p}" for p in parts[1:]]
            if blank_between:
                lines.append("")
        lines += ["Returns:", "    int: never part of a description"]
    elif style == "numpy":
        lines += ["Parameters", "----------"]
        for n, parts in params.items():
            lines.append(f"{n} : int")
            lines += [f"    {p}" for p in parts]
            if blank_between:
                lines.append("")
        lines += ["Returns", "-------", "int", "    never part of a description"]
    else:
        for n, parts in params.items():
            typed = draw(st.sampled_from(["", "int "]))
            lines.append(f":param {typed}{n}: {parts[0]}")
            lines += [f"    {p}" for p in parts[1:]]
            lines.append(f":type {n}: int")
        lines.append(":returns: never part of a description")
    expected = {n: " ".join(parts) for n, parts in params.items()}
    return "\n".join(lines), "\n".join(summary), expected


@settings(max_examples=300, deadline=None)
@given(docstrings())
def test_every_style_parses_into_its_description_and_parameters(
    case: tuple[str, str, dict[str, str]],
) -> None:
    doc, summary, expected = case
    got_summary, got = parse_docstring(doc)
    assert got_summary == summary
    assert got == expected
    assert "never part" not in got_summary + " ".join(got.values())


def test_the_four_reported_google_cases() -> None:
    def f(a: int, b: str) -> int:
        """Add things.
        args:
            a: the first,
                continued here.

            b: the second.
        Returns:
            int: the sum
        """
        return 0

    tool = tool_from_function(f)
    assert tool.function.description == "Add things."
    props = tool.function.parameters["properties"]
    assert props["a"]["description"] == "the first, continued here."
    assert props["b"]["description"] == "the second."


def test_starred_parameters_and_no_docstring() -> None:
    assert parse_docstring("") == ("", {})
    doc = "Do.\n\nArgs:\n    *args: positional.\n    **kwargs: named."
    assert parse_docstring(doc) == ("Do.", {"args": "positional.", "kwargs": "named."})


async def test_the_parsed_tool_goes_out_on_the_wire(emu: Emulator) -> None:
    def get_time(zone: str) -> str:
        """Current time in a zone.
        Args:
            zone: An IANA zone name,
                like Europe/Paris.
        """
        return "noon"

    async with Client(emu.url) as c:
        await c.chat("llama3.2", [{"role": "user", "content": "time?"}], tools=[get_time])
    fn = emu.requests[-1].json["tools"][0]["function"]
    assert fn["description"] == "Current time in a zone."
    assert fn["parameters"]["properties"]["zone"] == {
        "type": "string",
        "description": "An IANA zone name, like Europe/Paris.",
    }
    assert inspect.getdoc(get_time)  # the function itself is untouched
