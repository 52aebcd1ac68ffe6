"""Register glance (and swift) in keystone through keystone's REST API.

Why REST and not ``openstack`` CLI calls: each CLI run costs ~1.5 s of
imports; the handful of calls below take a few milliseconds each with the
standard library. Why not keystone-manage: it only bootstraps the admin
user and the identity service.

What glance needs: a ``service`` project, a ``glance`` user with the
``service`` and ``admin`` roles there (keystonemiddleware validates tokens
with it), and an ``image`` service with public and internal endpoints in
the catalog, so the CLI finds glance. swift's proxy needs the same, with a
``swift`` user and an ``object-store`` service.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class IdentityClient:
    """A tiny keystone v3 client authenticated as the bootstrap admin."""

    url: str  # e.g. http://127.0.0.1:PORT (no /v3)
    token: str = ""

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/v3{path}", data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header("X-Auth-Token", self.token)
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            payload = json.loads(raw) if raw else {}
            return resp.headers, payload

    def login(self, username: str, password: str, project: str) -> None:
        """Get a project-scoped token for ``username``."""
        headers, _ = self._call(
            "POST",
            "/auth/tokens",
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": username,
                                "domain": {"id": "default"},
                                "password": password,
                            }
                        },
                    },
                    "scope": {
                        "project": {"name": project, "domain": {"id": "default"}}
                    },
                }
            },
        )
        self.token = headers["X-Subject-Token"]

    def find_id(self, collection: str, name: str) -> str:
        """The ID of the ``collection`` member named ``name`` (projects, roles ...)."""
        _, payload = self._call("GET", f"/{collection}?name={name}")
        items = payload[collection]
        if not items:
            raise LookupError(f"no {collection} named {name!r} in keystone")
        return str(items[0]["id"])

    def create(self, collection: str, member: str, body: dict[str, Any]) -> str:
        _, payload = self._call("POST", f"/{collection}", {member: body})
        return str(payload[member]["id"])

    def register_service(
        self,
        *,
        username: str,
        password: str,
        service_name: str,
        service_type: str,
        url: str,
        region: str,
        project: str = "service",
        roles: tuple[str, ...] = ("service", "admin"),
    ) -> None:
        """Create a service user, its role grants, the service and endpoints."""
        try:
            project_id = self.find_id("projects", project)
        except LookupError:
            project_id = self.create(
                "projects",
                "project",
                {"name": project, "domain_id": "default",
                 "description": "Service accounts"},
            )
        user_id = self.create(
            "users",
            "user",
            {"name": username, "password": password, "domain_id": "default",
             "enabled": True},
        )
        for role in roles:
            role_id = self.find_id("roles", role)
            self._call(
                "PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}"
            )
        service_id = self.create(
            "services",
            "service",
            {"name": service_name, "type": service_type, "enabled": True},
        )
        for interface in ("public", "internal"):
            self.create(
                "endpoints",
                "endpoint",
                {"service_id": service_id, "interface": interface, "url": url,
                 "region_id": region, "enabled": True},
            )
