"""BodyRecorder, TeeReader and tee_iterable: watch bytes pass, keep at most the limit."""

from __future__ import annotations

import hashlib
import io

import pytest

from otel_openstack.capture.body import BodyRecorder, TeeReader, is_text_type, tee_iterable


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("content_type, verdict", [
    ("application/json", True),
    ("application/json; charset=UTF-8", True),
    ("Application/JSON", True),
    ("text/plain", True),
    ("text/html; charset=utf-8", True),
    ("application/openstack-images-v2.1-json-patch", None),
    ("application/vnd.openstack.compute+json", True),
    ("application/atom+xml", True),
    ("application/x-www-form-urlencoded", True),
    ("application/octet-stream", False),
    ("image/png", False),
    ("application/x-tar", False),
    ("application/gzip", False),
    ("", None),
    (None, None),
    ("application/something", None),
])
def test_is_text_type(content_type: str | None, verdict: bool | None) -> None:
    assert is_text_type(content_type) is verdict


def test_empty_body() -> None:
    assert BodyRecorder(10).attributes("request", redact=True) == {
        "http.request.body.size": 0, "openstack.http.request.body.state": "empty"}


def test_text_body_kept_in_full_and_redacted() -> None:
    recorder = BodyRecorder(100, "application/json")
    recorder.feed(b'{"user": {"password": ')
    recorder.feed('"pw"}}')  # str chunks are accepted too
    assert recorder.size == 28
    assert recorder.attributes("response", redact=True) == {
        "http.response.body.size": 28,
        "openstack.http.response.body.state": "text",
        "http.response.body.content": '{"user":{"password":"***"}}',
    }


def test_text_body_exactly_at_the_limit_is_kept() -> None:
    recorder = BodyRecorder(5, "text/plain")
    recorder.feed(b"ab")
    recorder.feed(b"cde")
    assert recorder.attributes("request", redact=True)["http.request.body.content"] == "abcde"


def test_text_over_limit_becomes_summary() -> None:
    data = b'{"a": "' + b"x" * 100 + b'"}'
    recorder = BodyRecorder(50, "application/json")
    for i in range(0, len(data), 7):
        recorder.feed(data[i:i + 7])
    assert recorder.attributes("request", redact=True) == {
        "http.request.body.size": len(data),
        "openstack.http.request.body.state": "over_limit",
        "openstack.http.request.body.sha256": sha(data),
    }


def test_binary_over_limit_and_binary_by_type() -> None:
    data = bytes(range(256)) * 4
    big = BodyRecorder(100, "application/octet-stream")
    big.feed(data)
    assert big.attributes("request", redact=True) == {
        "http.request.body.size": 1024,
        "openstack.http.request.body.state": "binary",
        "openstack.http.request.body.sha256": sha(data),
    }
    small = BodyRecorder(100, "application/octet-stream")
    small.feed(b"plain ascii")
    assert small.attributes("request", redact=True)["openstack.http.request.body.state"] == "binary"
    assert "http.request.body.content" not in small.attributes("request", redact=True)


def test_without_digest_a_summary_has_size_and_state_only() -> None:
    data = bytes(range(256)) * 4
    recorder = BodyRecorder(100, "application/octet-stream", digest=False)
    recorder.feed(data)
    assert recorder.attributes("request", redact=True) == {
        "http.request.body.size": 1024,
        "openstack.http.request.body.state": "binary",
    }
    text = BodyRecorder(100, "application/json", digest=False)
    text.feed(b'{"a":1}')
    assert text.attributes("response", redact=True)["http.response.body.content"] == '{"a":1}'


def test_untyped_body_is_sniffed() -> None:
    text = BodyRecorder(100)
    text.feed(b"hello\r\n\tworld")
    assert text.attributes("request", redact=True)["http.request.body.content"] == "hello\r\n\tworld"
    control = BodyRecorder(100)
    control.feed(b"QFI\xfb\x00\x00\x00\x03")  # a qcow2 header: not UTF-8
    assert control.attributes("request", redact=True)["openstack.http.request.body.state"] == "binary"
    nul = BodyRecorder(100)
    nul.feed(b"abc\x00def")  # valid UTF-8 but a control character
    assert nul.attributes("request", redact=True)["openstack.http.request.body.state"] == "binary"


def test_declared_text_that_is_not_utf8_is_binary() -> None:
    recorder = BodyRecorder(100, "text/plain")
    recorder.feed(b"\xff\xfe")
    assert recorder.attributes("request", redact=True) == {
        "http.request.body.size": 2, "openstack.http.request.body.state": "binary",
        "openstack.http.request.body.sha256": sha(b"\xff\xfe")}


def test_incomplete_body() -> None:
    recorder = BodyRecorder(100, "text/plain")
    recorder.feed(b"abc")
    assert recorder.attributes("request", redact=True, complete=False) == {
        "http.request.body.size": 3, "openstack.http.request.body.state": "incomplete",
        "openstack.http.request.body.sha256": sha(b"abc")}
    nothing = BodyRecorder(100)
    assert nothing.attributes("request", redact=True, complete=False)["openstack.http.request.body.state"] \
        == "incomplete"


def test_recorder_memory_is_bounded() -> None:
    recorder = BodyRecorder(1000)
    for _ in range(100):
        recorder.feed(b"x" * 999)
    assert recorder.size == 99900
    assert len(recorder._buf) == 0  # dropped once over the limit: only size and digest remain


def test_feed_ignores_non_bytes() -> None:
    recorder = BodyRecorder(10)
    recorder.feed(None)
    recorder.feed(42)
    recorder.feed(b"")
    assert recorder.size == 0


def test_tee_reader_read_variants() -> None:
    data = b"line one\nline two\nline three\n" + b"tail"
    recorder = BodyRecorder(1000)
    reader = TeeReader(io.BytesIO(data), recorder)
    got = reader.readline() + reader.read(5) + reader.read1(3)
    buf = bytearray(4)
    count = reader.readinto(buf)
    got += bytes(buf[:count])
    got += b"".join(reader.readlines(1))
    got += reader.read()
    assert got == data
    assert recorder.size == len(data)
    assert recorder.attributes("request", redact=False)["http.request.body.content"] == data.decode()


def test_tee_reader_iteration_and_eof_callback() -> None:
    data = b"a\nbb\nccc"
    calls: list[int] = []
    recorder = BodyRecorder(1000)
    reader = TeeReader(io.BytesIO(data), recorder, on_eof=lambda: calls.append(1))
    assert list(reader) == [b"a\n", b"bb\n", b"ccc"]
    assert reader.read(0) == b""
    assert calls == []  # a zero-length read is not the end of the stream
    assert reader.read(10) == b""
    assert reader.read() == b""
    assert calls == [1]  # called once
    assert reader._eof is True
    assert recorder.size == len(data)


def test_tee_reader_delegates_other_attributes() -> None:
    raw = io.BytesIO(b"0123456789")
    reader = TeeReader(raw, BodyRecorder(100))
    reader.seek(4)
    assert reader.tell() == 4
    assert reader.read() == b"456789"
    assert reader.getvalue() == b"0123456789"


def test_tee_reader_survives_a_failing_recorder() -> None:
    class Broken(BodyRecorder):
        def feed(self, chunk):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    reader = TeeReader(io.BytesIO(b"abc"), Broken(10))
    assert reader.read() == b"abc"


def test_tee_iterable() -> None:
    recorder = BodyRecorder(3)
    chunks = [b"ab", b"", b"cd", "é"]
    assert list(tee_iterable(iter(chunks), recorder)) == chunks
    assert recorder.size == 2 + 2 + 2
    assert recorder.attributes("request", redact=True)["openstack.http.request.body.sha256"] == \
        sha(b"abcd" + "é".encode())


def test_digest_of_a_big_body_hashed_beside_the_stream_covers_every_byte_in_order() -> None:
    """Past the limit chunks go to the hashing thread: a reused buffer, views and small chunks in between."""
    recorder = BodyRecorder(100, "application/octet-stream")
    buffer = bytearray(64 * 1024)
    sent = bytearray()
    for i in range(200):
        buffer[:] = bytes([i % 251]) * len(buffer)  # the app reuses its buffer: we must not keep a reference
        recorder.feed(buffer)
        sent += buffer
        small = bytes([i % 7]) * (i % 50)
        recorder.feed(small)  # small ones are hashed inline, after what is queued
        sent += small
        view = memoryview(bytes(range(256)) * 20)[i % 13:]
        recorder.feed(view)
        sent += view
    attributes = recorder.attributes("response", redact=True)
    assert attributes["http.response.body.size"] == len(sent)
    assert attributes["openstack.http.response.body.sha256"] == sha(bytes(sent))
    assert attributes["openstack.http.response.body.state"] == "binary"


def test_big_bodies_of_several_threads_get_their_own_digests() -> None:
    import threading

    results: dict[int, tuple[str, str]] = {}

    def stream(n: int) -> None:
        recorder = BodyRecorder(10)
        data = b""
        for i in range(300):
            chunk = bytes([n, i % 256]) * 3000
            recorder.feed(chunk)
            data += chunk
        results[n] = (recorder.attributes("request", redact=True)["openstack.http.request.body.sha256"], sha(data))

    threads = [threading.Thread(target=stream, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(got == want for got, want in results.values())
