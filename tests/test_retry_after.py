"""parse_retry_after: always finite, clamped to [0, cap], or None; and the retry loop over it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import Client, RateLimitError, RetryPolicy
from ollama_async._config import parse_retry_after
from ollama_async.testing import Emulator, Fault

CAP = 86400.0
NOW = 1_800_000_000.0  # a fixed "now" for the date form


def _in_range(r: float | None, cap: float = CAP) -> bool:
    return r is None or (math.isfinite(r) and 0.0 <= r <= cap)


@settings(max_examples=500)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1e6))
def test_every_float_in_every_spelling_gives_a_finite_clamped_value_or_none(
    x: float, cap: float
) -> None:
    spellings = [repr(x), str(x), f"{x:e}", f" {x!r} ", f"{x:+}"]
    if math.isfinite(x):
        spellings += [f"{x:.3f}", f"{x:f}"]
    for text in spellings:
        got = parse_retry_after(text, cap=cap, now=NOW)
        assert _in_range(got, cap), (text, got)
    if math.isfinite(x) and math.copysign(1.0, x) > 0:  # "-0.000" is signed: None
        plain = f"{x:.3f}"
        assert parse_retry_after(plain, cap=cap) == min(float(plain), cap)


@settings(max_examples=500)
@given(st.text(max_size=40))
def test_any_string_gives_a_finite_clamped_value_or_none(text: str) -> None:
    assert _in_range(parse_retry_after(text, now=NOW))
    assert _in_range(parse_retry_after(text))


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1),
                    timezones=st.just(timezone.utc)), st.booleans())  # fmt: skip
def test_http_dates_give_the_seconds_until_then_clamped(when: datetime, gmt: bool) -> None:
    text = format_datetime(when, usegmt=gmt)  # "GMT" or "+0000"
    expected = min(max(when.replace(microsecond=0).timestamp() - NOW, 0.0), CAP)
    assert parse_retry_after(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("nan", None), ("NaN", None), ("inf", None), ("-inf", None), ("Infinity", None),
     ("-1", None), ("+5", None), ("1e3", None), ("0x10", None), ("1_000", None),
     ("١٢", None), ("１２", None), ("", None), ("   ", None), (None, None), ("soon", None),
     ("5", 5.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0), ("9" * 400, CAP), ("86401", CAP),
     ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0), ("Fri, 31 Dec 9999 23:59:59 GMT", CAP),
     ("Wed, 15 Jan 2020 08:00:00 -0000", 0.0),
     ("Mon, 32 Foo 2020 99:99:99 GMT", None)],
)  # fmt: skip
def test_odd_values(text: str | None, expected: float | None) -> None:
    assert parse_retry_after(text, now=NOW) == expected


def test_a_naive_date_is_read_as_utc_and_the_cap_is_checked() -> None:
    later = datetime.fromtimestamp(NOW, timezone.utc) + timedelta(seconds=90)
    text = later.strftime("%a, %d %b %Y %H:%M:%S -0000")  # parsedate gives a naive datetime
    assert parse_retry_after(text, now=NOW) == 90.0
    with pytest.raises(ValueError):
        parse_retry_after("1", cap=math.nan)


# --- end to end: the emulator answers 429 with an odd Retry-After --------------------------

ODD = ["nan", "inf", "-inf", "-3", "1e999", "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"]


@pytest.mark.parametrize("header", ODD)
async def test_odd_retry_after_neither_stalls_the_retry_loop_nor_leaks_out(
    emu: Emulator, header: str
) -> None:
    policy = RetryPolicy(retries=1, backoff=0.01, max_backoff=0.01, max_retry_after=0.05)
    async with Client(emu.url, retry=policy) as client:
        emu.inject(Fault(status=429, body='{"error":"slow"}', headers={"Retry-After": header}))
        with anyio.fail_after(30):  # a stall fails here instead of hanging the run
            reply = await client.generate("tiny", "hi")
        assert reply.done and len(emu.requests) == 2  # retried once, then answered
        emu.reset()
        emu.inject(Fault(status=429, headers={"Retry-After": header}), times=None)
        with anyio.fail_after(30):
            with pytest.raises(RateLimitError) as caught:
                await client.generate("tiny", "hi")
        assert len(emu.requests) == 2
    retry_after = caught.value.retry_after
    assert retry_after is None or (math.isfinite(retry_after) and retry_after >= 0)
    assert retry_after == parse_retry_after(header)
