"""A real OpenID Connect provider for the single sign-on tests: panva's certified `oidc-provider` (a
devDependency in package.json), run with node by tests/support/oidc_provider.mjs on a free port, stopped by its
process id. `signed_in_at_provider` walks its own login and consent pages as a browser would, with httpx."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from infra.procs import free_port, stop_process
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"


@dataclass(frozen=True)
class OidcAccount:
    sub: str
    email: str | None = None
    email_verified: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "email_verified": self.email_verified}


@dataclass(frozen=True)
class OidcClientRegistration:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "redirect_uris": self.redirect_uris}


@dataclass
class OidcProvider:
    port: int
    issuer: str
    clients: list[OidcClientRegistration]
    accounts: list[OidcAccount]
    logfile: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def discovery(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/.well-known/openid-configuration", timeout=2)
        answer.raise_for_status()
        document: dict[str, Any] = answer.json()
        return document


def node_or_fail() -> str:
    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        pytest.fail("node and the oidc-provider package are needed for the single sign-on tests: run make setup "
                    "(infra/assets.py installs package-lock.json's packages)")
    return node


@contextmanager
def running_provider(clients: list[OidcClientRegistration], accounts: list[OidcAccount], logdir: Path,
                     issuer: str | None = None, timeout: float = 30.0) -> Iterator[OidcProvider]:
    """A provider answering its discovery document, stopped by its process id when the block ends, however."""
    node, port = node_or_fail(), free_port()
    provider = OidcProvider(port, issuer or f"http://127.0.0.1:{port}", clients, accounts,
                            logdir / f"oidc-provider-{port}.log")
    config = {"port": port, "issuer": provider.issuer, "clients": [c.as_json() for c in clients],
              "accounts": [a.as_json() for a in accounts]}
    with open(provider.logfile, "ab") as out:
        provider.proc = subprocess.Popen([node, str(SCRIPT), json.dumps(config)], cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env={**os.environ, "NODE_ENV": "test"})
    try:
        eventually(lambda: _answers(provider), timeout, f"the OpenID provider's discovery (log: {provider.logfile})")
        yield provider
    finally:
        stop_process(provider.proc, grace=10)


def _answers(provider: OidcProvider) -> bool:
    if provider.proc is not None and provider.proc.poll() is not None:
        raise RuntimeError(f"the OpenID provider exited: {provider.logfile.read_text()[-3000:]}")
    return provider.discovery().get("issuer") == provider.issuer


def signed_in_at_provider(browser: httpx.Client, authorization_url: str, sub: str) -> httpx.Response:
    """Through the provider's development login (its box takes the `sub`) and consent pages: the provider's
    answer that sends the browser back to the client (a redirect to the callback, not yet followed)."""
    answer = browser.get(authorization_url)
    for _ in range(6):
        while answer.is_redirect and not _is_callback(answer):
            answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
        if answer.is_redirect:
            return answer
        action = _form_action(answer.text)
        prompt = "login" if 'name="login"' in answer.text else "consent"
        data = {"prompt": "login", "login": sub, "password": "any"} if prompt == "login" else {"prompt": "consent"}
        answer = browser.post(urljoin(str(answer.url), action), data=data)
    raise AssertionError(f"the provider never sent the browser back: {answer.status_code} {answer.text[:500]}")


def _is_callback(answer: httpx.Response) -> bool:
    return "/login/oidc/callback" in answer.headers.get("location", "")


def _form_action(page: str) -> str:
    start = page.index('action="') + len('action="')
    return page[start:page.index('"', start)].replace("&amp;", "&")
