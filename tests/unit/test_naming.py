"""naming: participant names from service type, URL, User-Agent and program."""

from __future__ import annotations

import pytest

from otel_openstack import naming


@pytest.mark.parametrize("service_type, name", [
    ("identity", "keystone"),
    ("image", "glance-api"),
    ("object-store", "swift-proxy-server"),
    ("compute", "nova-api"),
    ("network", "neutron-server"),
    ("placement", "placement-api"),
    ("block-storage", "cinder-api"),
    ("volumev3", "cinder-api"),  # alias, through os-service-types
    ("volume", "cinder-api"),
    ("baremetal", "ironic-api"),
])
def test_service_type_names(service_type: str, name: str) -> None:
    assert naming.name_for_service_type(service_type) == name


def test_unknown_or_missing_service_type() -> None:
    assert naming.name_for_service_type("no-such-thing") is None
    assert naming.name_for_service_type(None) is None
    assert naming.name_for_service_type("") is None


def test_service_type_overrides_win_also_for_aliases() -> None:
    overrides = (("image", "glance"), ("block-storage", "cinder"))
    assert naming.name_for_service_type("image", overrides) == "glance"
    assert naming.name_for_service_type("volumev3", overrides) == "cinder"
    assert naming.name_for_service_type("compute", overrides) == "nova-api"
    assert naming.name_for_service_type("volumev3", (("volumev3", "old-cinder"),)) == "old-cinder"


@pytest.mark.parametrize("url, name", [
    ("http://10.0.0.5/identity/v3/auth/tokens", "keystone"),
    ("http://10.0.0.5/identity", "keystone"),
    ("http://10.0.0.5/image/v2/images?limit=1", "glance-api"),
    ("http://10.0.0.5/compute/v2.1/servers", "nova-api"),
    ("http://10.0.0.5/volume/v3/abc/volumes", "cinder-api"),
    ("http://10.0.0.5/placement/resource_providers", "placement-api"),
    ("http://10.0.0.5:8080/v1/AUTH_abc/glance", "swift-proxy-server"),
    ("http://10.0.0.5:9696/networking/v2.0/ports", "neutron-server"),
    ("http://10.0.0.5:9696/v2.0/ports", "neutron-server"),
    ("http://10.0.0.5/imagex/v2", "10.0.0.5"),  # a prefix must end at a path segment
    ("http://10.0.0.5:1234/foo", "10.0.0.5:1234"),
    ("https://cloud.example.com/foo", "cloud.example.com"),
])
def test_url_layout(url: str, name: str) -> None:
    assert naming.name_for_url(url) == name


def test_url_overrides_come_first() -> None:
    assert naming.name_for_url("http://h/image/v2", (("/image", "glance"),)) == "glance"
    assert naming.name_for_url("http://h:8774/v2.1", ((":8774", "compute-api"),)) == "compute-api"
    assert naming.name_for_url("http://h:5000/v3", ((":8774", "compute-api"),)) == "keystone"


def test_callee_prefers_service_type_over_url() -> None:
    assert naming.callee_name("image", "http://h/identity/v3") == "glance-api"
    assert naming.callee_name(None, "http://h/identity/v3") == "keystone"
    assert naming.callee_name("unknown-type", "http://h:9/x") == "h:9"


@pytest.mark.parametrize("user_agent, name", [
    ("python-swiftclient-4.1.0 foo bar", "python-swiftclient-4.1.0"),
    ("python-swiftclient-4.1.0", "python-swiftclient-4.1.0"),
    ("curl/8.5.0", "curl"),
    ("openstacksdk/4.22.0 keystoneauth1/5.18.1 python-requests/2.34.2 CPython/3.11.7", "openstacksdk"),
    ("  osc-lib/4.7.0 ", "osc-lib"),
    ("", "unknown-client"),
    ("   ", "unknown-client"),
    (None, "unknown-client"),
    ("/1.0", "unknown-client"),
])
def test_caller_from_user_agent(user_agent: str | None, name: str) -> None:
    assert naming.caller_from_user_agent(user_agent) == name


@pytest.mark.parametrize("argv0, name", [
    ("/usr/local/bin/openstack", "openstack"),
    ("/usr/local/bin/keystone-wsgi-public", "keystone"),
    ("glance-wsgi-api", "glance-api"),
    ("/opt/stack/bin/neutron-api", "neutron-server"),
    ("/usr/bin/swift-proxy-server", "swift-proxy-server"),
    ("tool.py", "tool"),
    ("", "unknown_service"),
])
def test_process_name_from_program(argv0: str, name: str) -> None:
    assert naming.process_name(argv0, {}) == name


def test_process_name_prefers_otel_service_name() -> None:
    assert naming.process_name("/usr/bin/openstack", {"OTEL_SERVICE_NAME": "my-cli"}) == "my-cli"


@pytest.mark.parametrize("url, netloc, path", [
    ("http://[::1/x", "[::1", "/x"),
    ("http://127.0.0.1:9292/v2/images?limit=1", "127.0.0.1:9292", "/v2/images"),
])
def test_split_url_takes_urls_urllib_refuses(url: str, netloc: str, path: str) -> None:
    parts = naming.split_url(url)
    assert (parts.netloc, parts.path) == (netloc, path)


def test_name_for_a_url_urllib_refuses_is_its_host() -> None:
    assert naming.name_for_url("http://[::1/x") == "[::1]"


@pytest.mark.parametrize("url, name", [
    ("http://[::1]:5999/x", "[::1]:5999"),
    ("http://[fe80::1]/x", "[fe80::1]"),
    ("http://192.0.2.1:8081/x", "192.0.2.1:8081"),
])
def test_a_host_without_a_known_service_is_named_as_in_its_url(url: str, name: str) -> None:
    assert naming.name_for_url(url) == name
