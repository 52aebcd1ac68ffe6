"""The requests of the transparency matrix, as raw bytes (so framing is exact)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunked: bool = False
    counts_close: bool = True  # the route returns an iterable with a counted close()
    skip: tuple[str, ...] = ()  # servers that cannot do it (wsgiref has no chunked input)

    def raw(self, request_id: str, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
        sep = "&" if "?" in self.path else "?"
        lines = [f"{self.method} {self.path}{sep}id={request_id} HTTP/1.1", "Host: 127.0.0.1",
                 "User-Agent: reliability-test", *(f"{n}: {v}" for n, v in self.headers + extra)]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _pieces(self.body, 7000)) + b"0\r\n\r\n"
        else:
            if self.body or self.method in ("POST", "PUT"):
                lines.append(f"Content-Length: {len(self.body)}")
            body = self.body
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


CASES = (
    Case("list", "GET", "/list", counts_close=False),
    Case("one_item_list_without_length", "GET", "/single", counts_close=False),
    Case("generator_raises_half_way", "GET", "/generator-raises"),
    Case("file_wrapper", "GET", "/file"),
    Case("close_called_once", "GET", "/close"),
    Case("head", "HEAD", "/head"),
    Case("no_content_204", "DELETE", "/204"),
    Case("not_modified_304", "GET", "/304", headers=(("If-None-Match", '"abc"'),)),
    Case("chunked_upload_without_length", "PUT", "/upload", body=bytes(range(256)) * 400, chunked=True,
         headers=(("Content-Type", "application/octet-stream"),), skip=("wsgiref",)),
    Case("app_reads_part_of_its_input", "POST", "/partial", body=b"y" * (1 << 20),
         headers=(("Content-Type", "application/octet-stream"),)),
    Case("legacy_write_callable", "GET", "/write"),
    Case("json_with_secrets", "POST", "/json", body=b'{"auth": {"password": "hunter2", "token": {"id": "x"}}}',
         headers=(("Content-Type", "application/json"), ("X-Auth-Token", "gAAAAAsecret"))),
    Case("invalid_json_body", "POST", "/json", body=b'{"password": "hunter2", ',
         headers=(("Content-Type", "application/json"),)),
    Case("invalid_utf8_body", "POST", "/json", body=b'{"password": "\xff\xfe\xc3"}',
         headers=(("Content-Type", "application/json; charset=utf-8"),)),
)
