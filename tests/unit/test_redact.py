"""Redaction at capture time: token headers digested, secret JSON fields masked, argv masked."""

from __future__ import annotations

import hashlib
import json

import pytest

from otel_openstack.capture import redact
from otel_openstack.capture.body import BodyRecorder
from otel_openstack.capture.headers import header_attributes
from otel_openstack.settings import load

TOKEN = "gAAAAABm-token-value"
TOKEN_DIGEST = "{SHA256}" + hashlib.sha256(TOKEN.encode()).hexdigest()


def test_digest_is_keystoneauths_sha256_form() -> None:
    assert redact.digest(TOKEN) == TOKEN_DIGEST
    assert redact.digest("") == "{SHA256}e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert redact.digest("é") == "{SHA256}" + hashlib.sha256("é".encode()).hexdigest()


@pytest.mark.parametrize("name", ["X-Auth-Token", "x-auth-token", "X-Subject-Token", "Authorization",
                                  "Cookie", "Set-Cookie", "X-Service-Token", "X-Storage-Token",
                                  "Proxy-Authorization"])
def test_secret_headers_become_digests(name: str) -> None:
    assert redact.redact_header(name, TOKEN) == TOKEN_DIGEST


def test_same_token_same_digest_across_headers() -> None:
    assert redact.redact_header("X-Subject-Token", TOKEN) == redact.redact_header("X-Auth-Token", TOKEN)
    assert redact.redact_header("X-Auth-Token", TOKEN + "x") != TOKEN_DIGEST


def test_other_headers_kept_and_extra_names_digested() -> None:
    assert redact.redact_header("Content-Type", "application/json") == "application/json"
    assert redact.redact_header("X-Openstack-Request-Id", "req-1") == "req-1"
    assert redact.redact_header("x-my-secret", "v", extra=("X-My-Secret",)) == redact.digest("v")


def test_keystone_password_auth_body() -> None:
    body = {"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                                           "password": "s3cret"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    assert redact.redact_json(body) == {"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                                           "password": "***"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    # the input is not modified
    assert body["auth"]["identity"]["password"]["user"]["password"] == "s3cret"


def test_token_method_auth_body_token_id_digested() -> None:
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": "T"}}}}
    assert redact.redact_json(body) == {
        "auth": {"identity": {"methods": ["token"], "token": {"id": redact.digest("T")}}}}
    assert redact.digest("T") == "{SHA256}" + hashlib.sha256(b"T").hexdigest()


def test_nested_lists_and_other_secret_fields() -> None:
    body = {"users": [{"name": "a", "password": "p1"}, {"name": "b", "original_password": "p2",
                                                         "new_password": "p3"}],
            "server": {"adminPass": "x", "name": "vm"},
            "credential": {"blob": "{\"access\": \"a\", \"secret\": \"s\"}", "type": "ec2"},
            "password": None, "count": 3, "flags": [True, None]}
    assert redact.redact_json(body) == {
        "users": [{"name": "a", "password": "***"}, {"name": "b", "original_password": "***",
                                                     "new_password": "***"}],
        "server": {"adminPass": "***", "name": "vm"},
        "credential": {"blob": "***", "type": "ec2"},
        "password": None, "count": 3, "flags": [True, None]}


def test_extra_fields() -> None:
    assert redact.redact_json({"Pin": "1234", "pin2": "x"}, ["pin"]) == {"Pin": "***", "pin2": "x"}


def test_redact_json_text_is_compact_and_leaves_non_json_alone() -> None:
    text = '{"auth": {"passcode": "123456", "note": "é"}}'
    assert redact.redact_json_text(text) == '{"auth":{"passcode":"***","note":"é"}}'
    assert redact.redact_json_text("password=secret") == "password=secret"
    assert redact.redact_json_text("") == ""


def test_deeply_nested_json_does_not_crash() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert redact.redact_json_text(deep) == deep


@pytest.mark.parametrize("argv, masked", [
    (["--os-password", "x", "server", "list"], ["--os-password", "***", "server", "list"]),
    (["--os-password=x", "server", "list"], ["--os-password=***", "server", "list"]),
    (["user", "set", "--password", "p", "bob"], ["user", "set", "--password", "***", "bob"]),
    (["--os-token", "t", "--os-application-credential-secret=s"],
     ["--os-token", "***", "--os-application-credential-secret=***"]),
    (["--os-password"], ["--os-password"]),
    (["--os-username", "admin", "--os-password-x", "y"], ["--os-username", "admin", "--os-password-x", "y"]),
    (["--os-password=a=b"], ["--os-password=***"]),
])
def test_argv(argv: list[str], masked: list[str]) -> None:
    assert redact.redact_argv(argv) == masked


def test_header_attributes_redact_on_and_off() -> None:
    headers = [("X-Auth-Token", TOKEN), ("Accept", "application/json")]
    on = header_attributes("request", headers, redact=True)
    off = header_attributes("request", headers, redact=load({}, redact=False).redact)
    assert on["http.request.header.x-auth-token"] == [TOKEN_DIGEST]
    assert off["http.request.header.x-auth-token"] == [TOKEN]
    assert on["http.request.header.accept"] == off["http.request.header.accept"] == ["application/json"]


def test_body_redaction_on_and_off() -> None:
    body = json.dumps({"auth": {"identity": {"password": {"user": {"password": "s3cret"}}}}}).encode()
    recorder = BodyRecorder(1024, "application/json")
    recorder.feed(body)
    on = recorder.attributes("request", redact=True)
    off = recorder.attributes("request", redact=False)
    assert on["http.request.body.content"] == '{"auth":{"identity":{"password":{"user":{"password":"***"}}}}}'
    assert off["http.request.body.content"] == body.decode()


def test_form_encoded_secrets_are_masked_and_other_fields_kept() -> None:
    recorder = BodyRecorder(1024, "application/x-www-form-urlencoded")
    recorder.feed(b"grant_type=password&username=admin&password=s3cret&client_secret=abc%26def&scope=openid")
    attributes = recorder.attributes("request", redact=True)
    assert attributes["http.request.body.content"] == (
        "grant_type=password&username=admin&password=***&client_secret=***&scope=openid")


def test_form_encoded_body_without_secrets_is_unchanged() -> None:
    assert redact.redact_form_text("a=1&b=%20x") == "a=1&b=%20x"


def test_tokens_seen_in_headers_are_scrubbed_from_free_text() -> None:
    token = "gAAAAABtoken-value-for-scrub-test"
    hashed = redact.redact_header("X-Subject-Token", token)
    bearer = redact.redact_header("Authorization", "Bearer bearer-credential-123")
    text = f'{{"id": "{token}"}} and bearer-credential-123 and pw-secret-1'
    assert redact.scrub(text, ["pw-secret-1"]) == f'{{"id": "{hashed}"}} and {bearer} and ***'


# --- the shortcuts taken per request must not change a result ---------------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

_KEYS = st.sampled_from(["name", "id", "token", "Token", "PASSWORD", "password", "pass\u212Aword", "secret",
                         "private_\u212Aey", "Blob", "user", "credential", "x", "café", "my_field", "ADMINPASS"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20)


@hsettings(max_examples=300, deadline=None)
@given(document=_JSON, escape=st.booleans(), extra=st.sampled_from([(), ("My_Field",), ("user",)]))
def test_json_text_redacted_exactly_as_the_full_walk_would(document, escape: bool, extra) -> None:
    text = json.dumps(document, ensure_ascii=escape)  # \\uXXXX escapes in keys too, when escape
    want = json.dumps(redact.redact_json(json.loads(text), extra), ensure_ascii=False, separators=(",", ":"))
    assert redact.redact_json_text(text, extra) == want


def test_secret_header_values_digested_and_remembered_once_seen() -> None:
    value = "Bearer tok-0123456789-unique-to-this-test"
    assert redact.redact_header("Authorization", value) == redact.digest(value)
    assert redact.redact_header("authorization", value) == redact.digest(value)  # cached
    assert redact.scrub(f"x {value} y") == f"x {redact.digest(value)} y"
    assert redact.scrub("tok-0123456789-unique-to-this-test") == redact.digest(value)
    assert redact.redact_header("X-Custom", value, ("x-CUSTOM",)) == redact.digest(value)
    assert redact.redact_header("X-Custom", value) == value
