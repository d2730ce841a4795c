"""How the composition root (app.py) builds USSD: menus, dialects per bind, the HTTP callback.

Kept beside app.py rather than in it so the root stays a list of services: `build_ussd(gateway)`
returns the `UssdService` and, when `[ussd_http] port` is set, adds the callback's listening
service to the gateway. The menu file is checked here at start-up (a `MenuError` is a
`ConfigError`: one line naming the file and key), and every bind's `ussd_dialect` becomes its
dialect object with the SMS text codec passed in (gateway/ussd/ never imports smpp/). With
`[ussd] push_bind`, shop requests are also pushed to members on that bind (ussd_push.py): the
agency's `push_approval` hook is set here and nowhere else, and the push (a service of the
gateway, for its stop) sends through the same `ScreenSender` as every other screen.
"""

from __future__ import annotations

from twisted.application import internet
from twisted.web import resource, server

from gateway.config import ConfigError
from gateway.ledger_services import LedgerServices
from gateway.smpp import text as sms_text
from gateway.ussd import Menus, dialect, load
from gateway.ussd.resource import UssdCallbackResource
from gateway.ussd_actions import CommandActions, pending_deals
from gateway.ussd_push import ApprovalPush
from gateway.ussd_sending import ScreenSender
from gateway.ussd_service import UssdService
from gateway.ussd_sessions import Dialogues

__all__ = ["build_ussd", "encode_screen"]


def encode_screen(text: str) -> tuple[int, bytes]:
    """A screen as (data_coding, short_message): GSM-7 when it can, else UCS-2."""
    encoded = sms_text.encode(text)
    return encoded.data_coding, encoded.payload


def build_ussd(gateway) -> UssdService:
    config = gateway.config
    menus = Menus(load(config.ussd.menus_path), None)  # each request binds its own Actions
    dialects = {b.name: dialect(b.ussd_dialect, sms_text.decode, encode_screen)
                for b in config.binds if b.ussd_dialect}
    # One sender for every screen, pushes too: one queue per bind keeps them in order, and an
    # answer that frees a slot wakes the queue that waits for it.
    screens = ScreenSender({b.name: b for b in gateway.binds}, gateway.reactor,
                           patience=config.ussd.reply_budget)
    push = _approval_push(gateway, menus, dialects, screens)
    if push is not None:
        push.setServiceParent(gateway)

    def actions_for(conn, member, request):
        services = LedgerServices(conn, gateway.ledger, gateway.now, gateway.redemptions,
                                  gateway.agency, request.reads)
        return CommandActions(services, gateway.keywords.current(), member=member,
                              short_code=_sms_from(config), region=config.phone_region,
                              default_language=config.default_language, request_id=0,
                              now=gateway.now, pending=lambda: pending_deals(
                                  conn, gateway.agency, request.msisdn, gateway.now()),
                              pushed_code=push.code_for if push else lambda m, r: None,
                              answer_by_sms=lambda language: menus.end(
                                  language, "answer_by_sms").text)

    dialogues = Dialogues(menus, actions_for, timeout=config.ussd.session_timeout,
                          sms_from=_sms_from(config))
    ussd = UssdService(gateway.db, gateway.reactor, gateway.now, dialogues, dialects=dialects,
                       screens=screens, region=config.phone_region,
                       reply_budget=config.ussd.reply_budget,
                       session_timeout=config.ussd.session_timeout, sms_queued=gateway.sender.wake,
                       reads=gateway.remote_reads)
    if config.ussd.http_port is not None:
        ussd.http_service = _callback_service(config.ussd, ussd)
        ussd.http_service.setServiceParent(gateway)
    return ussd


def _approval_push(gateway, menus: Menus, dialects, screens: ScreenSender) -> ApprovalPush | None:
    """The push of shop requests on `[ussd] push_bind`, hooked into the agency; None when off."""
    config, name = gateway.config, gateway.config.ussd.push_bind
    if not name:
        return None
    chosen = dialects.get(name)
    if chosen is None or not chosen.pushes:
        why = ("names no bind with a ussd_dialect" if chosen is None else
               f"the {chosen.name} dialect cannot start a session (smpp5 and dialogue15 can)")
        raise ConfigError(f"{config.source}: ussd.push_bind: {name!r} {why}", config.source,
                          "ussd.push_bind")
    if menus.tree.push is None:
        raise ConfigError(f"{config.source}: ussd.push_bind: the menu file has no push screen "
                          "(menus.push)", config.source, "ussd.push_bind")
    bind = next(b for b in config.binds if b.name == name)
    push = ApprovalPush(gateway.db, gateway.reactor, gateway.now, menus, bind_name=name,
                        dialect=chosen, screens=screens, service=bind.short_codes[0],
                        timeout=config.ussd.session_timeout)
    if gateway.agency is not None:
        gateway.agency.push_approval = push
    return push


def _sms_from(config) -> str:
    """Results that go by SMS leave from the first short code of the first bind."""
    return config.binds[0].short_codes[0]


def _callback_service(settings, ussd: UssdService):
    callback = UssdCallbackResource(ussd.handle, secret=settings.http_secret or None,
                                    allow=settings.http_allow, max_body=settings.http_max_body)
    root = resource.Resource()
    parent, parts = root, [p.encode() for p in settings.http_path.strip("/").split("/")]
    for part in parts[:-1]:
        child = resource.Resource()
        parent.putChild(part, child)
        parent = child
    parent.putChild(parts[-1], callback)
    site = server.Site(root)
    site.displayTracebacks = False
    return internet.TCPServer(settings.http_port, site, interface=settings.http_interface)

