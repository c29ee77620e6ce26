"""_credentials.py: URL credentials split off, sent as Basic auth only, scrubbed from text."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import InvalidRequestError
from ollama_async._credentials import (
    Credentials,
    authorization,
    scrub,
    scrub_exception,
    split_credentials,
)
from ollama_async.testing import Emulator

printable = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
users = st.text(printable.filter(lambda c: c != ":"), max_size=20)
passwords = st.text(printable | st.sampled_from("@:%/?#[]'\" é€😀"), max_size=30)
hosts = st.sampled_from(
    ["127.0.0.1", "localhost", "example.com", "[::1]", "[2001:db8::7]", "[fe80::1%25eth0]",
     "xn--bcher-kva.example", "ollama.internal"]
)  # fmt: skip
ports = st.sampled_from(["", ":11434", ":1", ":65535"])
paths = st.sampled_from(["", "/", "/ollama", "/a/b/"])
schemes = st.sampled_from(["http://", "https://", "HTTP://", ""])


@settings(max_examples=400)
@given(schemes, users, passwords, hosts, ports, paths)
def test_split_recovers_any_percent_encoded_user_and_password(
    scheme: str, user: str, password: str, host: str, port: str, path: str
) -> None:
    bare = f"{scheme}{host}{port}{path}"
    url = f"{scheme}{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}{path}"
    got, creds = split_credentials(url)
    assert got == bare
    assert creds == Credentials(user, password)
    assert repr(creds) == f"Credentials(username={user!r})"  # never the password
    if scheme:
        assert urlsplit(got).password is None and urlsplit(got).hostname is not None


raw_passwords = st.text(printable.filter(lambda c: c not in "/?#%"), min_size=1, max_size=30)


@given(users.filter(lambda u: "@" not in u and "%" not in u and not set(u) & set("/?#")),
       raw_passwords, hosts)  # fmt: skip
def test_raw_at_and_colon_in_a_password_are_read_as_urlsplit_reads_them(
    user: str, password: str, host: str
) -> None:
    url = f"http://{user}:{password}@{host}:11434/x"
    got, creds = split_credentials(url)
    assert got == f"http://{host}:11434/x"
    assert creds == Credentials(user, password)


@given(schemes, users, passwords.filter(lambda p: "*" not in p), hosts, paths)
def test_scrub_removes_userinfo_and_every_given_secret(
    scheme: str, user: str, password: str, host: str, path: str
) -> None:
    scheme = scheme or "http://"
    url = f"{scheme}{quote(user, safe='')}:{quote(password, safe='')}@{host}{path}"
    bare, creds = split_credentials(url)
    for shape in ("failed: {} (refused)", "URL('{}')", "<{}>", "{}"):
        assert scrub(shape.format(url)) == shape.format(bare)
    assert creds is not None
    leaked = f"password was {password!s} / {quote(password, safe='')} in {url}"
    cleaned = scrub(leaked, *creds.secrets())
    if password:
        assert password not in cleaned and quote(password, safe="") not in cleaned


@pytest.mark.parametrize(
    "url",
    ["http://u:p@h/x@y", "http://u:pa/ss@h", "http://u:p@h?q=@", "u:p@h#@"],
)
def test_an_at_after_the_host_is_refused_without_echoing_the_url(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="percent-encode") as caught:
        split_credentials(url)
    assert caught.value.field == "host" and url not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://u:%FF@h", "UTF-8"), ("http://u:a%0Db@h", "control"), ("http://u%3Ax:p@h", "':'"),
     ("http://u%00:p@h", "control")],
)  # fmt: skip
def test_undecodable_or_unsendable_credentials_get_a_typed_error(url: str, reason: str) -> None:
    with pytest.raises(InvalidRequestError, match=reason):
        split_credentials(url)


def test_empty_userinfo_user_only_and_no_credentials() -> None:
    assert split_credentials("http://@h:1") == ("http://h:1", None)
    assert split_credentials("http://u@h:1") == ("http://h:1", Credentials("u", ""))
    assert split_credentials("http://:p@h") == ("http://h", Credentials("", "p"))
    assert split_credentials("") == ("", None)
    assert Credentials("u", "").secrets() == ()


B = Credentials("u", "p").header()


@pytest.mark.parametrize(
    ("header", "creds", "api_key", "env", "expected"),
    [
        (None, None, None, None, None),
        (None, None, None, "e", "Bearer e"),
        (None, None, "", "e", None),  # api_key="" switches the environment off
        (None, None, "k", "e", "Bearer k"),
        (None, Credentials("u", "p"), None, "e", B),  # the URL is explicit, the env is not
        (None, Credentials("u", "p"), "", "e", B),
        ("Bearer h", None, None, "e", "Bearer h"),
        ("Bearer k", None, "k", None, "Bearer k"),  # the same value twice is no conflict
        (B, Credentials("u", "p"), None, None, B),
        (None, Credentials("u", "p"), "k", None, "api_key"),
        ("Bearer h", None, "k", None, "api_key"),
        ("Bearer h", Credentials("u", "p"), None, None, "host"),
    ],
)
def test_authorization_precedence(
    header: str | None, creds: Credentials | None, api_key: str | None, env: str | None,
    expected: str | None,
) -> None:  # fmt: skip
    if expected in ("api_key", "host"):
        with pytest.raises(InvalidRequestError) as caught:
            authorization(creds, api_key=api_key, header=header, env_api_key=env)
        assert caught.value.field == expected
        assert "Bearer" not in str(caught.value) and "Basic" not in str(caught.value)
        return
    assert authorization(creds, api_key=api_key, header=header, env_api_key=env) == expected


@given(users, passwords)
def test_basic_header_is_utf8_base64_of_user_colon_password(user: str, password: str) -> None:
    value = Credentials(user, password).header()
    assert value.startswith("Basic ")
    assert base64.b64decode(value[6:]).decode("utf-8") == f"{user}:{password}"


# --- over real sockets ---------------------------------------------------------------------


async def test_split_url_plus_header_reaches_the_server_where_aiohttp_refused(
    emu: Emulator,
) -> None:
    emulator = emu
    host = urlsplit(emulator.url).netloc
    url = f"http://al%40ice:p%C3%A4ss%3Aw%2Frd@{host}"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="Cannot combine"):  # the defect: a raw ValueError
            await session.get(url + "/api/version", headers={"Authorization": "Bearer k"})
        bare, creds = split_credentials(url)
        header = authorization(creds, env_api_key="ignored")
        assert header is not None
        async with session.get(bare + "/api/version", headers={"Authorization": header}) as r:
            assert r.status == 200
    sent = emulator.requests[-1].headers["Authorization"]
    assert base64.b64decode(sent.split()[1]).decode() == "al@ice:päss:w/rd"


async def test_scrub_cleans_aiohttp_request_info_in_a_real_protocol_error() -> None:
    async def bad_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(bad_chunks, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://bob:hunter2@127.0.0.1:{port}/api/chat"
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError) as caught:
                async with session.get(url) as resp:
                    await resp.read()
    finally:
        server.close()
        await server.wait_closed()
    token = base64.b64encode(b"bob:hunter2").decode()
    text = repr(caught.value) + str(caught.value) + repr(caught.value.__cause__)
    assert token in text or "hunter2" in text  # the leak the issue describes
    _, creds = split_credentials(url)
    assert creds is not None
    cleaned = scrub(text, *creds.secrets())
    assert token not in cleaned and "hunter2" not in cleaned and "bob:" not in cleaned
    exc = scrub_exception(caught.value, *creds.secrets())  # the exception itself, in place
    text = repr(exc) + str(exc) + repr(exc.__cause__) + str(exc.__cause__)
    assert token not in text and "hunter2" not in text
    assert "'Authorization': '***'" in text and f"127.0.0.1:{port}/api/chat" in text
