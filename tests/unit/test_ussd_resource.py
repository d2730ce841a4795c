"""resource.py over treq's StubTreq: real HTTP requests, in memory, against the real resource."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from treq.testing import StubTreq
from twisted.internet import defer

from gateway.ussd.http import Callback
from gateway.ussd.resource import UssdCallbackResource

URL = "http://gateway.example/ussd"
FORM = {"sessionId": "ATUid_1", "serviceCode": "*384*123#", "phoneNumber": "+254712345678", "text": "1"}
FORM_TYPE = {b"Content-Type": [b"application/x-www-form-urlencoded"]}


class Handler:
    """Answers with the screen it is told to, now or when `later` fires."""

    def __init__(self, answer=("Jifen Rewards\n1 My balance", False), later=None, error=None):
        self.answer, self.later, self.error, self.seen = answer, later, error, []

    def __call__(self, callback: Callback):
        self.seen.append(callback)
        if self.error:
            raise self.error
        if self.later is not None:
            return self.later.addCallback(lambda _: self.answer)
        return self.answer


def post(treq, data=None, headers=FORM_TYPE, url=URL, **changes):
    body = data if data is not None else urlencode({**FORM, **changes}).encode()
    return treq.post(url, data=body, headers=headers)


def result_of(deferred):
    results = []
    deferred.addBoth(results.append)
    assert results, "the request did not finish"
    return results[0]


def handler_waiting(request) -> bool:
    """No response yet (probed without taking the result from later callbacks)."""
    arrived = []
    request.addBoth(lambda result: arrived.append(True) or result)
    return not arrived


def response(treq, request):
    reply = result_of(request)
    return reply.code, result_of(reply.content()), reply.headers.getRawHeaders(b"content-type")


def stub(handler=None, **options):
    options = options or {"secret": "s3cret"}
    return StubTreq(UssdCallbackResource(handler or Handler(), **options))


def test_a_callback_with_the_secret_gets_a_con_screen():
    handler = Handler()
    treq = stub(handler)
    code, body, kind = response(treq, post(treq, headers={**FORM_TYPE, b"X-Jifen-Secret": [b"s3cret"]}))
    assert (code, body, kind) == (200, b"CON Jifen Rewards\n1 My balance", [b"text/plain; charset=utf-8"])
    assert handler.seen == [Callback("ATUid_1", "*384*123#", "+254712345678", "1")]


def test_the_secret_may_come_in_the_url_and_the_end_is_end():
    treq = stub(Handler(("积分余额：1,350分。", True)))
    code, body, _ = response(treq, post(treq, url=URL + "?secret=s3cret"))
    assert (code, body.decode()) == (200, "END 积分余额：1,350分。")


@pytest.mark.parametrize("headers, url", [
    (FORM_TYPE, URL),
    ({**FORM_TYPE, b"X-Jifen-Secret": [b"wrong"]}, URL),
    (FORM_TYPE, URL + "?secret=wrong"),
    (FORM_TYPE, URL + "?secret=s3cret&secret=s3cret"),
])
def test_without_the_secret_it_is_403_and_the_handler_never_runs(headers, url):
    handler = Handler()
    treq = stub(handler)
    code, body, _ = response(treq, post(treq, headers=headers, url=url))
    assert (code, body, handler.seen) == (403, b"not allowed\n", [])


def test_an_allowed_address_needs_no_secret():
    treq = stub(allow=["127.0.0.1"])  # StubTreq's client address
    assert response(treq, post(treq))[0] == 200
    treq = stub(allow=["10.0.0.9"])
    assert response(treq, post(treq))[0] == 403


def test_neither_secret_nor_allow_list_is_refused_at_start():
    with pytest.raises(ValueError, match="shared secret or an allow-list"):
        UssdCallbackResource(Handler())


def test_an_oversize_body_is_413_and_a_missing_field_400():
    treq = stub(allow=["127.0.0.1"])
    code, body, _ = response(treq, post(treq, data=urlencode({**FORM, "text": "1" * 900}).encode()
                                       + b"&pad=" + b"x" * 5000))
    assert code == 413 and b"over the limit of 4096" in body
    code, body, _ = response(treq, post(treq, data=b"sessionId=ATUid_1&serviceCode=*1%23&text="))
    assert (code, body) == (400, b"missing field phoneNumber\n")


def test_a_get_is_405():
    treq = stub(allow=["127.0.0.1"])
    reply = result_of(treq.get(URL))
    assert (reply.code, reply.headers.getRawHeaders(b"allow")) == (405, [b"POST"])


def test_an_answer_that_comes_later_is_sent_when_it_comes():
    later = defer.Deferred()
    treq = stub(Handler(later=later), allow=["127.0.0.1"])
    request = post(treq)
    treq.flush()
    assert handler_waiting(request)
    later.callback(None)
    treq.flush()
    assert response(treq, request)[:2] == (200, b"CON Jifen Rewards\n1 My balance")


def test_a_failing_handler_is_a_500_without_details():
    treq = stub(Handler(error=RuntimeError("database password is hunter2")), allow=["127.0.0.1"])
    code, body, _ = response(treq, post(treq))
    assert (code, body) == (500, b"temporary failure\n")
