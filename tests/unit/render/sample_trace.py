"""A hand-made trace resembling ``openstack image create`` (made-up values).

Messages, as numbered by ``messages()``:

 1 openstack -> keystone    GET  /identity/
 2                          300 MULTIPLE CHOICES
 3 openstack -> keystone    POST /identity/v3/auth/tokens
 4                          201 CREATED
 5 openstack -> glance-api  POST /image/v2/images
 6   glance-api -> keystone GET  /identity/v3/auth/tokens
 7                          200 OK
 8                          201 Created
 9 openstack -> glance-api  PUT  /image/v2/images/<id>/file   (binary body)
10                          204 No Content
"""

from __future__ import annotations

from otel_openstack.model.types import Body, Exchange, Trace

HOST = "http://192.0.2.10"
IMAGE_ID = "0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90"
TRACEPARENT = ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
CLI_HEADERS = (
    ("Host", "192.0.2.10"),
    ("User-Agent", "openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7"),
    ("Accept", "application/json"),
)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def json_body(text: str) -> Body:
    return Body(text=text, size=len(text.encode()), content_type="application/json", state="text")


EMPTY = Body(size=0, state="empty")

VERSIONS = Exchange(
    caller="openstack",
    callee="keystone",
    method="GET",
    url=f"{HOST}/identity/",
    path="/identity/",
    status_code=300,
    status_text="MULTIPLE CHOICES",
    request_headers=(*CLI_HEADERS, TRACEPARENT),
    request_body=EMPTY,
    response_headers=(("Content-Type", "application/json"), ("Location", f"{HOST}/identity/v3/")),
    response_body=json_body('{"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}'),
)

TOKEN = Exchange(
    caller="openstack",
    callee="keystone",
    method="POST",
    url=f"{HOST}/identity/v3/auth/tokens",
    path="/identity/v3/auth/tokens",
    status_code=201,
    status_text="CREATED",
    request_headers=(*CLI_HEADERS, ("Content-Type", "application/json")),
    request_body=json_body(
        '{"auth": {"identity": {"methods": ["password"], '
        '"password": {"user": {"name": "admin", "password": "***"}}}}}'
    ),
    response_headers=(("Content-Type", "application/json"), ("X-Subject-Token", "***")),
    response_body=json_body('{"token": {"methods": ["password"], "expires_at": "2030-01-01T00:00:00Z"}}'),
)

VALIDATE = Exchange(
    caller="glance-api",
    callee="keystone",
    method="GET",
    url=f"{HOST}/identity/v3/auth/tokens",
    path="/identity/v3/auth/tokens",
    status_code=200,
    status_text="OK",
    request_headers=(("X-Auth-Token", "***"), ("X-Subject-Token", "***"), TRACEPARENT),
    request_body=EMPTY,
    response_headers=(("Content-Type", "application/json"),),
    response_body=json_body('{"token": {"user": {"name": "admin"}}}'),
)

CREATE = Exchange(
    caller="openstack",
    callee="glance-api",
    method="POST",
    url=f"{HOST}/image/v2/images",
    path="/image/v2/images",
    status_code=201,
    status_text="Created",
    request_headers=(*CLI_HEADERS, ("Content-Type", "application/json")),
    request_body=json_body('{"name": "cirros", "disk_format": "qcow2"}'),
    response_headers=(("Content-Type", "application/json"), ("Location", f"{HOST}/image/v2/images/{IMAGE_ID}")),
    response_body=json_body(f'{{"id": "{IMAGE_ID}", "status": "queued"}}'),
    children=(VALIDATE,),
)

UPLOAD = Exchange(
    caller="openstack",
    callee="glance-api",
    method="PUT",
    url=f"{HOST}/image/v2/images/{IMAGE_ID}/file",
    path=f"/image/v2/images/{IMAGE_ID}/file",
    status_code=204,
    status_text="No Content",
    request_headers=(("Content-Type", "application/octet-stream"), TRACEPARENT),
    request_body=Body(size=16384, content_type="application/octet-stream", sha256=SHA, state="binary"),
    response_headers=(("Content-Length", "0"),),
    response_body=EMPTY,
)


def image_create_trace() -> Trace:
    return Trace(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        exchanges=(VERSIONS, TOKEN, CREATE, UPLOAD),
        command="openstack image create",
    )
