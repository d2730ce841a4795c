"""USSD: members and agents dial a code (*123#) and use numbered menus, over SMPP or HTTP.

What is here is pure (no database, no reactor), so the pipeline can run it on a database thread
and tests drive it with plain values:

- `load` the menu file (config/ussd.toml) into a checked `MenuTree`, then `Menus.start` and
  `Menus.advance` a dialogue: (state, answer) -> (state, `Screen` or `End`). The menus call the
  gateway through `Actions`, which the pipeline implements over the SMS command handlers.
- `dialect(name, decode, encode)`: the vendor's way of carrying USSD over SMPP, per bind:
  deliver_sm parameters -> `UssdEvent`; a screen -> submit_sm parameters.
- `parse_form` / `render_answer`: the aggregator's HTTP callback. The twisted.web resource that
  serves it is `gateway.ussd.resource.UssdCallbackResource` (not imported here: it needs Twisted).

docs/ussd.md describes the menu file, each dialect's wire format and the HTTP contract.
"""

from gateway.ussd.actions import Actions, ActionUnavailable, Caller, Entry
from gateway.ussd.dialects import DIALECTS, Dialect, UssdError, UssdEvent, UssdSession, dialect
from gateway.ussd.http import Callback, CallbackError, parse_form, render_answer
from gateway.ussd.menu import Menus, default_menu_path, load, loads
from gateway.ussd.screens import DEFAULT_LIMITS, End, Limits, Screen
from gateway.ussd.state import MenuState, StateError
from gateway.ussd.tree import MenuError, MenuTree

__all__ = [
    "DEFAULT_LIMITS", "DIALECTS", "ActionUnavailable", "Actions", "Callback", "CallbackError", "Caller",
    "Dialect", "End", "Entry", "Limits", "MenuError", "MenuState", "MenuTree", "Menus", "Screen",
    "StateError", "UssdError", "UssdEvent", "UssdSession", "default_menu_path", "dialect", "load",
    "loads", "parse_form", "render_answer",
]
