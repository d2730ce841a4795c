"""The central ledger as a JSON HTTP service (`jifen ledger serve`): docs/ledger-api.md.

twisted.web, not klein: five routes do not need a router library, the project already runs on
Twisted, and plain `Resource` keeps the request size guard (`LimitedRequest`) and the error
mapping in one short file.  Every write is idempotent by the transfer id (or, for accounts,
by ledger+kind+reference), so a client may resend whatever it did not get an answer to.

Each request is one database transaction on ``run``'s threads; the reactor thread only parses
and answers.  Bodies are hostile: a size limit enforced while the body streams in, strict JSON,
strict shapes, and every failure answered with a JSON error, never a traceback.
"""

from __future__ import annotations

import re
from typing import Callable

import structlog
from sqlalchemy.exc import DBAPIError
from twisted.internet import defer
from twisted.web import resource, server

from ledger_client import wire
from ledger_client.embedded import EmbeddedLedger
from ledger_client.errors import (
    HoldNotPending, IdReused, InvalidTransfer, LedgerError, UnknownAccount,
)
from ledger_client.types import MAX_BATCH, POINTS, AccountKind, checked_account_id

log = structlog.get_logger(__name__)

MAX_BODY = 256 * 1024            # a full batch of MAX_BATCH transfers fits with room to spare
MAX_HISTORY = 100
_ACCOUNT_KEYS = ("kind", "reference", "ledger", "no_overdraft")
# Any integer of up to 20 digits (every int64) is an account's URL; one no account can have
# is answered unknown_account before the database is asked (PostgreSQL would fail on it).
_ACCOUNT = re.compile(r"/v1/accounts/(-?[0-9]{1,20})(/history)?")
_CONFLICTS = (IdReused, HoldNotPending)


class LimitedRequest(server.Request):
    """Stops keeping a body once it passes `MAX_BODY`; the resource then answers 413."""

    too_large = False

    def gotLength(self, length):
        self.too_large = length is not None and length > MAX_BODY
        super().gotLength(None if self.too_large else length)

    def handleContentChunk(self, data):
        if self.too_large:
            return
        if self.content.tell() + len(data) > MAX_BODY:
            self.too_large = True
            self.content.seek(0)
            self.content.truncate()
            return
        super().handleContentChunk(data)


class _Answer(Exception):
    """Ends a request early with ``status`` and a JSON error."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


class LedgerResource(resource.Resource):
    """The routes; ``run(fn, *args)`` runs ``fn(connection, *args)`` in one transaction."""

    isLeaf = True

    def __init__(self, ledger: EmbeddedLedger, run: Callable[..., defer.Deferred]):
        super().__init__()
        self._ledger = ledger
        self._run = run

    def render(self, request):
        gone = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        answered = defer.maybeDeferred(self._route, request)
        answered.addCallbacks(lambda body: (200, body), self._failure)
        answered.addCallback(lambda answer: gone or self._write(answer, request))
        return server.NOT_DONE_YET

    def _route(self, request):
        path = request.path.decode("ascii", "replace")
        method = request.method.decode("ascii", "replace")
        if path == "/v1/health":
            return self._only(method, "GET") or {"status": "ok"}
        if path == "/v1/transfers":
            return self._only(method, "POST") or self._post(self._body(request))
        if path == "/v1/accounts":
            return self._only(method, "POST") or self._open(self._body(request))
        found = _ACCOUNT.fullmatch(path)
        if found is None:
            raise _Answer(404, "not_found", f"no such resource {path[:80]!r}")
        self._only(method, "GET")
        account_id = checked_account_id(int(found[1]))
        if found[2]:
            return self._history(account_id, _limit(request))
        return self._run(self._account, account_id)

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise _Answer(405, "method_not_allowed", f"use {allowed}")

    @staticmethod
    def _body(request) -> object:
        if request.too_large:
            raise _Answer(413, "too_large", f"bodies are limited to {MAX_BODY} bytes")
        kind = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise _Answer(415, "unsupported_media_type", "send application/json")
        return wire.loads(request.content.getvalue())

    def _post(self, body: object):
        fields = wire.object_with(body, ("transfers",), frozenset(("transfers",)), "the body")
        batch = fields["transfers"]
        if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
            raise wire.BadBody(f"transfers must be a list of 1 to {MAX_BATCH} transfers")
        transfers = [wire.transfer_from_json(item) for item in batch]
        posted = self._run(lambda conn: self._ledger.post(conn, transfers, savepoint=False))
        return posted.addCallback(
            lambda results: {"results": [wire.result_to_json(r) for r in results]})

    def _open(self, body: object):
        fields = wire.object_with(body, _ACCOUNT_KEYS, frozenset(("kind", "reference")),
                                  "an account")
        kind, reference = fields["kind"], fields["reference"]
        ledger, no_overdraft = fields.get("ledger", POINTS), fields.get("no_overdraft", True)
        if kind not in set(AccountKind):
            raise wire.BadBody(f"kind must be one of {', '.join(AccountKind)}")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 64:
            raise wire.BadBody("reference must be a string of 1 to 64 characters")
        if not isinstance(ledger, str) or not re.fullmatch(r"[a-z]{1,16}|[A-Z]{3}", ledger):
            raise wire.BadBody("ledger must be lower-case letters or a currency code")
        if not isinstance(no_overdraft, bool):
            raise wire.BadBody("no_overdraft must be true or false")

        def open_(conn):
            account_id = self._ledger.open_account(conn, kind, reference, ledger=ledger,
                                                   no_overdraft=no_overdraft)
            return self._account(conn, account_id)
        return self._run(open_)

    def _account(self, conn, account_id: int) -> dict:
        return {"account": wire.account_to_json(self._ledger.account(conn, account_id),
                                                self._ledger.balance(conn, account_id))}

    def _history(self, account_id: int, limit: int):
        lines = self._run(self._ledger.history, account_id, limit)
        return lines.addCallback(
            lambda movements: {"movements": [wire.movement_to_json(m) for m in movements]})

    @staticmethod
    def _failure(failure) -> tuple[int, dict]:
        error = failure.value
        if isinstance(error, _Answer):
            status, code, message, details = error.status, error.code, str(error), error.details
        elif isinstance(error, (wire.BadBody, InvalidTransfer)):
            details = error.details if isinstance(error, InvalidTransfer) else {}
            status, code, message = 400, getattr(error, "code", "bad_request"), str(error)
        elif isinstance(error, LedgerError):
            status = 409 if isinstance(error, _CONFLICTS) else (
                404 if isinstance(error, UnknownAccount) else 422)
            code, message, details = error.code, str(error), error.details
        elif isinstance(error, DBAPIError):
            log.error("ledger.database_error", error=type(error.orig).__name__)
            status, code, message, details = 503, "unavailable", "the database is unavailable", {}
        else:
            log.error("ledger.request_crashed", error=repr(error)[:200])
            status, code, message, details = 500, "internal", "internal error", {}
        return status, {"error": {"code": code, "message": message, "details": details}}

    @staticmethod
    def _write(answer: tuple[int, dict], request) -> None:
        status, body = answer
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.write(wire.dumps(body))
        request.finish()


def _limit(request) -> int:
    raw = request.args.get(b"limit", [b"10"])[0]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY:
        raise _Answer(400, "bad_request", f"limit must be a whole number from 1 to {MAX_HISTORY}")
    return int(raw)


def ledger_site(ledger: EmbeddedLedger, run: Callable[..., defer.Deferred]) -> server.Site:
    """The service as a `Site`, ready for ``endpoint.listen``."""
    site = server.Site(LedgerResource(ledger, run))
    site.requestFactory = LimitedRequest
    site.displayTracebacks = False
    return site
