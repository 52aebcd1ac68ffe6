"""Header capture: order and original case kept, values per semconv name, redacted."""

from __future__ import annotations

from otel_openstack.capture.headers import environ_headers, header_attributes
from otel_openstack.capture.redact import digest


def test_request_headers_in_order_with_duplicates() -> None:
    headers = [("Host", "h:5000"), ("X-Auth-Token", "tok"), ("Accept", "a/b"), ("accept", "c/d"),
               ("User-Agent", "osc")]
    assert header_attributes("request", headers, redact=True) == {
        "openstack.http.request.header_names": ["Host", "X-Auth-Token", "Accept", "accept", "User-Agent"],
        "http.request.header.host": ["h:5000"],
        "http.request.header.x-auth-token": [digest("tok")],
        "http.request.header.accept": ["a/b", "c/d"],
        "http.request.header.user-agent": ["osc"],
    }


def test_response_headers_bytes_values_and_redaction_off() -> None:
    headers = [("Content-Type", b"application/json"), ("X-Subject-Token", "tok"), ("Set-Cookie", "a=1")]
    assert header_attributes("response", headers, redact=False) == {
        "openstack.http.response.header_names": ["Content-Type", "X-Subject-Token", "Set-Cookie"],
        "http.response.header.content-type": ["application/json"],
        "http.response.header.x-subject-token": ["tok"],
        "http.response.header.set-cookie": ["a=1"],
    }


def test_extra_secret_headers() -> None:
    out = header_attributes("response", [("X-Vault-Token", "v")], redact=True, extra_secret=["x-vault-token"])
    assert out["http.response.header.x-vault-token"] == [digest("v")]


def test_no_headers() -> None:
    assert header_attributes("request", [], redact=True) == {"openstack.http.request.header_names": []}


def test_environ_headers() -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "12",
        "HTTP_HOST": "127.0.0.1:5000",
        "HTTP_X_AUTH_TOKEN": "tok",
        "HTTP_USER_AGENT": "curl/8",
        "SERVER_NAME": "localhost",
        "wsgi.input": object(),
    }
    assert environ_headers(environ) == [
        ("Content-Type", "application/json"),
        ("Content-Length", "12"),
        ("Host", "127.0.0.1:5000"),
        ("X-Auth-Token", "tok"),
        ("User-Agent", "curl/8"),
    ]


def test_environ_headers_skip_empty_content_headers() -> None:
    assert environ_headers({"CONTENT_TYPE": "", "CONTENT_LENGTH": "", "HTTP_ACCEPT": "*/*"}) == [("Accept", "*/*")]
