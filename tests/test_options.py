"""Options as Meta-constrained Structs converted once, legacy options sent with one warning,
and the one "did you mean" helper (options, request fields, the config file).

The expected kinds and ranges are written from the wire reference (``ollama-api.md`` §7) and
the server's ``api/types.go``, not read from the library.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async import Client, InvalidRequestError, Options, _options
from ollama_async._hints import did_you_mean
from ollama_async._options import IgnoredOptionWarning, check_options
from ollama_async.testing import Emulator

# name: the lowest value allowed (None: any int64)
INT_OPTIONS = {
    "num_keep": -1,
    "seed": None,
    "num_predict": -2,
    "top_k": 0,
    "repeat_last_n": -1,
    "num_ctx": 1,
    "num_batch": 1,
    "num_gpu": -1,
    "main_gpu": 0,
    "num_thread": 0,
    "draft_num_predict": 0,
}
# name: (lowest, highest), None: no bound but a finite float32
FLOAT_OPTIONS = {
    "top_p": (0, 1), "min_p": (0, 1), "typical_p": (0, 1), "temperature": (0, None),
    "repeat_penalty": (None, None), "presence_penalty": (None, None),
    "frequency_penalty": (None, None),
}  # fmt: skip
# seed 004's list and the rest the server dropped from api/types.go, a valid value each
LEGACY = {
    "mirostat": 1,
    "mirostat_tau": 5.0,
    "mirostat_eta": 0.1,
    "tfs_z": 1.0,
    "penalize_newline": True,
    "numa": False,
    "low_vram": True,
    "f16_kv": True,
    "logits_all": False,
    "vocab_only": False,
    "use_mlock": True,
    "embedding_only": False,
    "num_gqa": 8,
    "rope_frequency_base": 10000.0,
    "rope_frequency_scale": 1.0,
}


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees a process that has not warned yet."""
    monkeypatch.setattr(_options, "_warned", set())


# -- options: constrained Structs, converted once ------------------------------------------

WRONG_FOR_INT = st.one_of(
    st.floats(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2)
)
WRONG_FOR_FLOAT = st.one_of(st.text(max_size=3), st.booleans(), st.just([1.0]), st.binary())


def _draw_option(data: st.DataObject, *, valid: bool) -> tuple[str, Any]:
    """An option's name and a value that the wire takes (``valid``) or must refuse."""
    name = data.draw(st.sampled_from(sorted(INT_OPTIONS) + sorted(FLOAT_OPTIONS)))
    if name in INT_OPTIONS:
        lowest = INT_OPTIONS[name]
        if valid:
            return name, data.draw(st.integers(-(2**63) if lowest is None else lowest, 2**40))
        below = st.integers(max_value=lowest - 1) if lowest is not None else st.nothing()
        return name, data.draw(st.one_of(WRONG_FOR_INT, below, st.integers(min_value=2**63)))
    low, high = FLOAT_OPTIONS[name]
    if valid:
        low, high = (-1e30 if low is None else low), (1e30 if high is None else high)
        return name, data.draw(st.floats(min_value=low, max_value=high))
    bad = [WRONG_FOR_FLOAT, st.sampled_from([math.nan, math.inf, -math.inf, 1e39])]
    if low is not None:
        bad.append(st.floats(max_value=low, exclude_max=True, allow_nan=False))
    if high is not None:
        bad.append(st.floats(min_value=high, exclude_min=True, allow_nan=False))
    return name, data.draw(st.one_of(bad))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_options_of_a_wrong_type_or_out_of_range_name_the_option(data: st.DataObject) -> None:
    name, value = _draw_option(data, valid=False)
    for given_as in ({name: value}, Options(**{name: value})):
        with pytest.raises(InvalidRequestError) as info:
            check_options(given_as)
        assert info.value.field == f"options.{name}", info.value


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_options_in_range_pass_unchanged(data: st.DataObject) -> None:
    name, value = _draw_option(data, valid=True)
    assert check_options({name: value}) == {name: value}
    assert check_options({"stop": ["\n", "User:"], "use_mmap": False})["use_mmap"] is False


def test_option_errors_and_hints() -> None:
    with pytest.raises(InvalidRequestError, match="unknown option; did you mean 'temperature'"):
        check_options({"temprature": 0.2})
    with pytest.raises(InvalidRequestError) as info:
        check_options({"stop": ["ok", 3]})
    assert info.value.field == "options.stop[1]"
    with pytest.raises(InvalidRequestError) as info:
        check_options({1: 2})
    assert info.value.field == "options"
    with pytest.raises(InvalidRequestError, match="must be an Options or a mapping"):
        check_options([("top_k", 1)])
    assert check_options(Options(top_k=3)) == Options(top_k=3)


# -- legacy options: accepted, sent, one warning per name per process -----------------------


@pytest.mark.usefixtures("fresh_warnings")
async def test_legacy_options_are_sent_with_one_warning_per_name(emu: Emulator) -> None:
    async with Client(emu.url) as c:
        with pytest.warns(IgnoredOptionWarning) as caught:
            await c.generate("tiny", "hi", options={**LEGACY, "num_predict": 2})
            s = c.stream("tiny", "hi", options=Options(mirostat=2, num_predict=2))
            await c.chat("tiny", [{"role": "user", "content": "x"}], options={"tfs_z": 0.5})
            await c.embed("nomic-embed-text", "x", options={"use_mlock": True})
        async with s:
            assert [x async for x in s][-1].done
    warned = sorted(str(w.message).split("'")[1] for w in caught)
    assert warned == sorted(LEGACY)  # each once, though mirostat, tfs_z, use_mlock came twice
    assert all(w.filename == __file__ for w in caught), "the warning points at the caller"
    sent = [(r.path, r.json["options"]) for r in emu.requests]
    assert sent == [
        ("/api/generate", {**LEGACY, "num_predict": 2}),
        ("/api/chat", {"tfs_z": 0.5}),
        ("/api/embed", {"use_mlock": True}),
        ("/api/generate", {"mirostat": 2, "num_predict": 2}),  # a stream sends when iterated
    ]


@pytest.mark.usefixtures("fresh_warnings")
def test_legacy_options_of_a_wrong_type_are_still_refused() -> None:
    with pytest.raises(InvalidRequestError) as info:
        check_options({"mirostat": 7})
    assert info.value.field == "options.mirostat"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredOptionWarning)
        assert check_options({"f16_kv": True}) == {"f16_kv": True}
    assert issubclass(IgnoredOptionWarning, UserWarning)


# -- one hint helper, used by the config file too --------------------------------------------


def test_one_hint_helper_for_options_fields_and_config(tmp_path: Path) -> None:
    from ollama_async import ConfigError
    from ollama_async.runner import ConfigManager

    assert did_you_mean("num_ctxx", Options.__struct_fields__) == "; did you mean 'num_ctx'?"
    assert did_you_mean("zzzz", ["a"]) == ""
    config = tmp_path / "config.toml"
    config.write_text('[server]\nhots = "http://x"\n')
    with pytest.raises(ConfigError, match="did you mean 'host'"):
        ConfigManager(str(config)).load_config()


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_did_you_mean_only_suggests_a_real_choice(name: str) -> None:
    hint = did_you_mean(name, Options.__struct_fields__)
    assert hint == "" or hint.split("'")[1] in Options.__struct_fields__
