"""Structure in the diagram: activation bars, boxes, loops, failure notes; exact lines."""

from __future__ import annotations

import re

import pytest
from sample_trace import image_create_trace
from test_mermaid import EXPECTED_DIAGRAM as PLAIN_DIAGRAM

from otel_openstack.model.types import Body, Exchange, Trace
from otel_openstack.pipeline import render_trace
from otel_openstack.render.options import RenderOptions
from otel_openstack.render.structure import error_detail, failure_text, label_text, render_structured_diagram
from otel_openstack.render.view import prepare

HEX = "7c4cda7e4807414bbdfcb22b535a9802"
UUID = "a42bfade-78ec-4c95-b7b4-272ba265072c"
ALL_OFF = RenderOptions(placeholders=False, activations=False, boxes=False, failure_notes=False)


def ex(caller: str, callee: str, method: str, path: str, status: int | None = 200, text: str = "OK",
       children: tuple[Exchange, ...] = (), **kw: object) -> Exchange:
    return Exchange(caller=caller, callee=callee, method=method, url=f"http://h{path}", path=path,  # type: ignore[arg-type]
                    status_code=status, status_text=text, children=children, **kw)


def diagram(trace: Trace, options: RenderOptions = RenderOptions()) -> str:
    return render_structured_diagram(prepare(trace, options), options)


def json_body(text: str) -> Body:
    return Body(text=text, size=len(text), content_type="application/json", state="text")


def test_sample_trace_with_the_defaults() -> None:
    assert diagram(image_create_trace()) == """\
openstack->>+keystone: GET /identity/
keystone-->>-openstack: 300 MULTIPLE CHOICES /identity/
openstack->>+keystone: POST /identity/v3/auth/tokens
keystone-->>-openstack: 201 CREATED /identity/v3/auth/tokens
openstack->>+glance-api: POST /image/v2/images
opt glance-api validates the token
  glance-api->>+keystone: GET /identity/v3/auth/tokens
  keystone-->>-glance-api: 200 OK /identity/v3/auth/tokens
end
glance-api-->>-openstack: 201 Created /image/v2/images
openstack->>+glance-api: PUT /image/v2/images/{image_id}/file
glance-api-->>-openstack: 204 No Content /image/v2/images/{image_id}/file
"""


def test_every_switch_off_gives_the_plain_diagram() -> None:
    assert diagram(image_create_trace(), ALL_OFF) == PLAIN_DIAGRAM


def test_boxes_without_activations() -> None:
    options = RenderOptions(activations=False)
    assert diagram(image_create_trace(), options).splitlines()[4:10] == [
        "openstack->>glance-api: POST /image/v2/images",
        "opt glance-api validates the token",
        "  glance-api->>keystone: GET /identity/v3/auth/tokens",
        "  keystone-->>glance-api: 200 OK /identity/v3/auth/tokens",
        "end",
        "glance-api-->>openstack: 201 Created /image/v2/images",
    ]


def swift_upload() -> Trace:
    upload = ex("openstack", "glance-api", "PUT", f"/v2/images/{UUID}/file", 204, "No Content", children=(
        ex("glance-api", "keystone", "GET", "/identity/", 300, "MULTIPLE CHOICES"),
        ex("glance-api", "keystone", "POST", "/identity/v3/auth/tokens", 201, "CREATED"),
        ex("glance-api", "swift-proxy-server", "HEAD", f"/v1/AUTH_{HEX}/glance", 204, "No Content", children=(
            ex("swift-proxy-server", "keystone", "GET", "/identity/v3/auth/tokens"),
        )),
        ex("glance-api", "swift-proxy-server", "PUT", f"/v1/AUTH_{HEX}/glance/{UUID}", 201, "Created"),
    ))
    return Trace("t", (upload,))


def test_boxes_group_runs_per_callee_and_name_token_work() -> None:
    assert diagram(swift_upload()) == """\
openstack->>+glance-api: PUT /v2/images/{image_id}/file
opt glance-api gets a token
  glance-api->>+keystone: GET /identity/
  keystone-->>-glance-api: 300 MULTIPLE CHOICES /identity/
  glance-api->>+keystone: POST /identity/v3/auth/tokens
  keystone-->>-glance-api: 201 CREATED /identity/v3/auth/tokens
end
opt glance-api → swift-proxy-server while serving PUT /v2/images/{image_id}/file
  glance-api->>+swift-proxy-server: HEAD /v1/{account}/glance
  opt swift-proxy-server validates the token
    swift-proxy-server->>+keystone: GET /identity/v3/auth/tokens
    keystone-->>-swift-proxy-server: 200 OK /identity/v3/auth/tokens
  end
  swift-proxy-server-->>-glance-api: 204 No Content /v1/{account}/glance
  glance-api->>+swift-proxy-server: PUT /v1/{account}/glance/{image_id}
  swift-proxy-server-->>-glance-api: 201 Created /v1/{account}/glance/{image_id}
end
glance-api-->>-openstack: 204 No Content /v2/images/{image_id}/file
"""


def test_failure_notes() -> None:
    html = ("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n"
            "  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>")
    trace = Trace("t", (
        ex("openstack", "keystone", "GET", "/v3/users/x", 404, "Not Found", response_body=json_body(
            '{"error": {"code": 404, "message": "Could not find user: x.", "title": "Not Found"}}')),
        ex("openstack", "glance-api", "GET", "/v2/images/y", 404, "Not Found",
           response_body=Body(text=html, content_type="text/html; charset=UTF-8", state="text")),
        ex("glance-api", "swift-proxy-server", "PUT", "/v1/c", None, "",
           error="ConnectionError: [Errno 111] Connection refused; #2"),
        ex("openstack", "nova-api", "GET", "/servers", 500, "Internal Server Error", error="HTTPError: 500"),
        ex("nova-api", "nova-api", "GET", "/self", 409, "Conflict"),
    ))
    assert diagram(trace) == """\
openstack->>+keystone: GET /v3/users/x
keystone-->>-openstack: 404 Not Found /v3/users/x
Note over openstack,keystone: 404 Not Found: Could not find user: x.
openstack->>+glance-api: GET /v2/images/y
glance-api-->>-openstack: 404 Not Found /v2/images/y
Note over openstack,glance-api: 404 Not Found: The resource could not be found.
glance-api->>+swift-proxy-server: PUT /v1/c
swift-proxy-server-->>-glance-api: ERROR ConnectionError#58; [Errno 111] Connection refused#59; #35;2 /v1/c
Note over glance-api,swift-proxy-server: no response: ConnectionError: [Errno 111] Connection refused； ＃2
openstack->>+nova-api: GET /servers
nova-api-->>-openstack: 500 Internal Server Error /servers
Note over openstack,nova-api: 500 Internal Server Error: HTTPError: 500
nova-api->>+nova-api: GET /self
nova-api-->>-nova-api: 409 Conflict /self
Note over nova-api: 409 Conflict
"""
    notes_off = diagram(trace, RenderOptions(failure_notes=False))
    assert "Note" not in notes_off and notes_off.count("\n") == 10


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (json_body('{"itemNotFound": {"code": 404, "message": "Flavor c9 could not be found."}}'),
         "Flavor c9 could not be found."),
        (json_body('{"errors": [{"status": 409, "title": "Conflict", "detail": "resource provider generation"}]}'),
         "resource provider generation"),
        (json_body('{"NeutronError": {"type": "PortNotFound", "message": "Port p could not be found.", "detail": ""}}'),
         "Port p could not be found."),
        (json_body('{"code": 1}'), None),
        (json_body("not json"), None),
        (Body(text="404 Not Found\n\nThe resource could not be found.\n\n   ", content_type="text/plain",
              state="text"), "The resource could not be found."),
        (Body(size=10, state="binary"), None),
        (Body(state="empty"), None),
        (Body(captured=False, state="not_captured"), None),
    ],
)
def test_error_detail(body: Body, expected: str | None) -> None:
    assert error_detail(body, "404 Not Found") == expected


def test_failure_text_is_one_short_line() -> None:
    long = ex("a", "b", "GET", "/", 400, "Bad Request", response_body=json_body(
        '{"badRequest": {"message": "' + "x\\n" * 80 + '"}}'))
    text = failure_text(long)
    assert text == "400 Bad Request: " + " ".join(["x"] * 41) + "\u2026"  # at most 100 characters, cut at a space
    assert failure_text(ex("a", "b", "GET", "/", 302, "Found")) is None
    assert failure_text(ex("a", "b", "GET", "/", None, "")) == "no response"


def test_loops_collapse_identical_siblings_and_numbering_follows() -> None:
    ports = ex("nova-compute", "neutron-server", "GET", "/v2.0/ports")
    outer = ex("a", "b", "GET", "/x", children=(ex("b", "c", "GET", "/y"),) * 2 + (ex("b", "c", "GET", "/z"),))
    different = ex("a", "b", "GET", "/x", 500, "Internal Server Error")
    trace = Trace("t", (ports,) * 3 + (outer,) * 2 + (different,))
    files = render_trace(trace, RenderOptions(collapse_loops=True, failure_notes=False))
    assert files["diagram.md"] == """\
loop 3 times
  nova-compute->>+neutron-server: GET /v2.0/ports
  neutron-server-->>-nova-compute: 200 OK /v2.0/ports
end
loop 2 times
  a->>+b: GET /x
  opt b → c while serving GET /x
    loop 2 times
      b->>+c: GET /y
      c-->>-b: 200 OK /y
    end
    b->>+c: GET /z
    c-->>-b: 200 OK /z
  end
  b-->>-a: 200 OK /x
end
a->>+b: GET /x
b-->>-a: 500 Internal Server Error /x
"""
    assert re.findall(r"^### (.*)$", files["body.md"], re.M) == [
        "(1) GET /v2.0/ports", "(2) 200 OK /v2.0/ports", "(3) GET /x", "(4) GET /y", "(5) 200 OK /y",
        "(6) GET /z", "(7) 200 OK /z", "(8) 200 OK /x", "(9) GET /x", "(10) 500 Internal Server Error /x",
    ]
    assert files["requests.log"].count(" REQ >>> ") == 5  # the log follows the same sequence
    assert prepare(trace, RenderOptions(collapse_loops=True)).repeats == {1: 3, 3: 2, 4: 2}


def test_loops_are_off_by_default() -> None:
    ports = ex("nova-compute", "neutron-server", "GET", "/v2.0/ports")
    assert diagram(Trace("t", (ports,) * 2)).count("GET /v2.0/ports") == 2


def test_aliases_labels_and_notes_stay_escaped() -> None:
    served = ex("end", "my svc;x", "POST", "/a#b;c:d", 201, "Created", children=(
        ex("my svc;x", "end", "GET", "/%%{init}%%", 503, "Unavailable"),
    ))
    assert diagram(Trace("t", (served,))) == """\
participant p_end as end
participant p_my_svc_x as my svc#59;x
p_end->>+p_my_svc_x: POST /a#35;b#59;c#58;d
opt my svc；x → end while serving POST /a＃b；c:d
  p_my_svc_x->>+p_end: GET /#37;#37;{init}#37;#37;
  p_end-->>-p_my_svc_x: 503 Unavailable /#37;#37;{init}#37;#37;
  Note over p_my_svc_x,p_end: 503 Unavailable
end
p_my_svc_x-->>-p_end: 201 Created /a#35;b#59;c#58;d
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /a;b#c:d", "GET /a；b＃c:d"),  # no entity code: Mermaid may wrap a label inside one
        ("<script>&amp;</script>", "＜script＞＆amp；＜/script＞"),
        ("%%{init: {}}%% 50%", "％％{init: {}}％％ 50%"),
        ("ﬂ°°59¶ß", "fl°°59❡ß"),  # Mermaid's own entity markers
        ("line\nbreak\u2028", "line%0Abreak%E2%80%A8"),
        ("wrap:x", "wrap：x"), ("NOWRAP:x", "NOWRAP：x"), (":wrap:x", ":wrap：x"), ("a wrap:x", "a wrap:x"),
        ("  padded  ", "padded"),
    ],
)
def test_label_text(text: str, expected: str) -> None:
    assert label_text(text) == expected
