"""The request log: exact layout of the old tool's ``requests.log``."""

from __future__ import annotations

import pytest

from sample_trace import CREATE, TOKEN, VALIDATE, VERSIONS, image_create_trace

from otel_openstack.model.types import Body, Exchange, Message, Trace
from otel_openstack.render import RenderOptions, render_log
from otel_openstack.render.log import render_record, status_words, unforgeable

EXPECTED_LOG = """
### (openstack) REQ >>> (keystone) : GET http://192.0.2.10/identity/
Host: 192.0.2.10
User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
Accept: application/json

none


### (openstack) RESP <<< (keystone) : 300 MULTIPLE CHOICES GET http://192.0.2.10/identity/
Content-Type: application/json
Location: http://192.0.2.10/identity/v3/

{
  "versions": {
    "values": [
      {
        "id": "v3.14",
        "status": "stable"
      }
    ]
  }
}


### (openstack) REQ >>> (keystone) : POST http://192.0.2.10/identity/v3/auth/tokens
Host: 192.0.2.10
User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
Accept: application/json
Content-Type: application/json

{
  "auth": {
    "identity": {
      "methods": [
        "password"
      ],
      "password": {
        "user": {
          "name": "admin",
          "password": "***"
        }
      }
    }
  }
}


### (openstack) RESP <<< (keystone) : 201 CREATED POST http://192.0.2.10/identity/v3/auth/tokens
Content-Type: application/json
X-Subject-Token: ***

{
  "token": {
    "methods": [
      "password"
    ],
    "expires_at": "2030-01-01T00:00:00Z"
  }
}


### (openstack) REQ >>> (glance-api) : POST http://192.0.2.10/image/v2/images
Host: 192.0.2.10
User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
Accept: application/json
Content-Type: application/json

{
  "name": "cirros",
  "disk_format": "qcow2"
}


### (glance-api) REQ >>> (keystone) : GET http://192.0.2.10/identity/v3/auth/tokens
X-Auth-Token: ***
X-Subject-Token: ***

none


### (glance-api) RESP <<< (keystone) : 200 OK GET http://192.0.2.10/identity/v3/auth/tokens
Content-Type: application/json

{
  "token": {
    "user": {
      "name": "admin"
    }
  }
}


### (openstack) RESP <<< (glance-api) : 201 Created POST http://192.0.2.10/image/v2/images
Content-Type: application/json
Location: http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90

{
  "id": "0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90",
  "status": "queued"
}


### (openstack) REQ >>> (glance-api) : PUT http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
Content-Type: application/octet-stream

<binary body: 16,384 bytes (16.0 KiB), application/octet-stream, sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08>


### (openstack) RESP <<< (glance-api) : 204 No Content PUT http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
Content-Length: 0

none

"""


def test_full_log_layout_matches_the_old_format_exactly() -> None:
    assert render_log(image_create_trace(), RenderOptions()) == EXPECTED_LOG


def test_default_options_hide_traceparent() -> None:
    assert render_log(image_create_trace()) == EXPECTED_LOG
    assert "traceparent" not in EXPECTED_LOG


def test_nested_exchange_sits_between_outer_request_and_response() -> None:
    headings = [line for line in EXPECTED_LOG.splitlines() if line.startswith("### ")]
    assert headings == [
        "### (openstack) REQ >>> (keystone) : GET http://192.0.2.10/identity/",
        "### (openstack) RESP <<< (keystone) : 300 MULTIPLE CHOICES GET http://192.0.2.10/identity/",
        "### (openstack) REQ >>> (keystone) : POST http://192.0.2.10/identity/v3/auth/tokens",
        "### (openstack) RESP <<< (keystone) : 201 CREATED POST http://192.0.2.10/identity/v3/auth/tokens",
        "### (openstack) REQ >>> (glance-api) : POST http://192.0.2.10/image/v2/images",
        "### (glance-api) REQ >>> (keystone) : GET http://192.0.2.10/identity/v3/auth/tokens",
        "### (glance-api) RESP <<< (keystone) : 200 OK GET http://192.0.2.10/identity/v3/auth/tokens",
        "### (openstack) RESP <<< (glance-api) : 201 Created POST http://192.0.2.10/image/v2/images",
        "### (openstack) REQ >>> (glance-api) : PUT http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file",
        "### (openstack) RESP <<< (glance-api) : 204 No Content PUT http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file",
    ]


def test_propagation_headers_shown_when_asked() -> None:
    text = render_log(Trace("t", (VALIDATE,)), RenderOptions(hide_propagation_headers=False))
    assert text == (
        "\n"
        "### (glance-api) REQ >>> (keystone) : GET http://192.0.2.10/identity/v3/auth/tokens\n"
        "X-Auth-Token: ***\n"
        "X-Subject-Token: ***\n"
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n"
        "\n"
        "none\n"
        "\n"
        "\n"
        "### (glance-api) RESP <<< (keystone) : 200 OK GET http://192.0.2.10/identity/v3/auth/tokens\n"
        "Content-Type: application/json\n"
        "\n"
        "{\n"
        '  "token": {\n'
        '    "user": {\n'
        '      "name": "admin"\n'
        "    }\n"
        "  }\n"
        "}\n"
        "\n"
    )


def test_exchange_without_response_writes_error_in_place_of_status() -> None:
    failed = Exchange(
        caller="glance-api",
        callee="swift-proxy-server",
        method="PUT",
        url="http://192.0.2.10:8080/v1/AUTH_x/glance/obj",
        path="/v1/AUTH_x/glance/obj",
        status_code=None,
        status_text="",
        request_headers=(("Content-Length", "5"),),
        request_body=Body(text="hello", size=5, content_type="application/octet-stream", state="text"),
        error="ConnectionError: [Errno 111] Connection refused",
    )
    assert render_log(Trace("t", (failed,))) == (
        "\n"
        "### (glance-api) REQ >>> (swift-proxy-server) : PUT http://192.0.2.10:8080/v1/AUTH_x/glance/obj\n"
        "Content-Length: 5\n"
        "\n"
        "hello\n"
        "\n"
        "\n"
        "### (glance-api) RESP <<< (swift-proxy-server) : ERROR ConnectionError: [Errno 111] Connection refused"
        " PUT http://192.0.2.10:8080/v1/AUTH_x/glance/obj\n"
        "\n"
        "(not captured)\n"
        "\n"
    )


def test_error_without_text_and_empty_status_text() -> None:
    no_text = Exchange("a", "b", "GET", "http://h/x", "/x", None, "")
    assert status_words(no_text) == "ERROR no response"
    bare = Exchange("a", "b", "GET", "http://h/x", "/x", 204, "")
    assert status_words(bare) == "204"
    assert render_record(Message(2, bare, False, 0)) == "\n### (a) RESP <<< (b) : 204 GET http://h/x\n\n(not captured)\n\n"


def test_single_line_fields_cannot_forge_records_but_bodies_stay_as_is() -> None:
    hostile = Exchange(
        caller="evil\n### (x) REQ >>> (y) : GET /",
        callee="keystone",
        method="GET",
        url="http://h/a\r\nb",
        path="/a",
        status_code=200,
        status_text="OK\nfake",
        request_headers=(("X-A", "1\n### (x) RESP"),),
        request_body=Body(state="empty"),
        response_body=Body(text="line 1\n\n### not a record\n", state="text", content_type="text/plain"),
    )
    assert render_log(Trace("t", (hostile,))) == (
        "\n"
        "### (evil%0A### (x) REQ >>> (y) : GET /) REQ >>> (keystone) : GET http://h/a%0D%0Ab\n"
        "X-A: 1%0A### (x) RESP\n"
        "\n"
        "none\n"
        "\n"
        "\n"
        "### (evil%0A### (x) REQ >>> (y) : GET /) RESP <<< (keystone) : 200 OK%0Afake GET http://h/a%0D%0Ab\n"
        "\n"
        "line 1\n"
        "\n"
        "### not a record\n"
        "\n"
    )


def test_empty_trace_renders_nothing() -> None:
    assert render_log(Trace("t", ())) == ""


def test_records_follow_messages_order_for_siblings() -> None:
    outer = Exchange("openstack", "glance-api", "POST", "http://h/i", "/i", 201, "Created",
                     children=(VERSIONS, TOKEN))
    log = render_log(Trace("t", (outer, CREATE)))
    headings = [line for line in log.splitlines() if line.startswith("###")]
    assert [h.split(" : ")[0] for h in headings] == [
        "### (openstack) REQ >>> (glance-api)",
        "### (openstack) REQ >>> (keystone)",
        "### (openstack) RESP <<< (keystone)",
        "### (openstack) REQ >>> (keystone)",
        "### (openstack) RESP <<< (keystone)",
        "### (openstack) RESP <<< (glance-api)",
        "### (openstack) REQ >>> (glance-api)",
        "### (glance-api) REQ >>> (keystone)",
        "### (glance-api) RESP <<< (keystone)",
        "### (openstack) RESP <<< (glance-api)",
    ]


@pytest.mark.parametrize("body, expected", [
    ("a\n\n### (x) REQ >>> (y) : GET /", "a\n\n\u200b### (x) REQ >>> (y) : GET /"),
    ("### (x) RESP <<< (y) : 200 OK GET /\nb", "\u200b### (x) RESP <<< (y) : 200 OK GET /\nb"),
    ("a\r\r### (x) REQ >>> (y) : GET /", "a\r\r\u200b### (x) REQ >>> (y) : GET /"),
    ("a\r\n### (x) REQ >>> (y) : GET /", "a\r\n\u200b### (x) REQ >>> (y) : GET /"),
    ("### (x) is not a heading\n#### (x) REQ >>> (y) : GET /", "### (x) is not a heading\n#### (x) REQ >>> (y) : GET /"),
    ("x ### (x) REQ >>> (y) : GET /", "x ### (x) REQ >>> (y) : GET /"),
])
def test_a_body_line_that_reads_as_a_heading_is_defused(body: str, expected: str) -> None:
    assert unforgeable(body) == expected
