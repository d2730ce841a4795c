"""`jifen keywords`: the keywords members text, changed while the gateway runs.

    jifen keywords list [--command BAL] [--language zh]     the keywords in force, and their origin
    jifen keywords add COMMAND LANGUAGE KEYWORD [--first]   a new keyword (--first: shown in replies)
    jifen keywords remove COMMAND LANGUAGE KEYWORD          one from the file or from an earlier add
    jifen keywords test "TEXT" [--language L] [--stranger]  what TEXT parses to and the reply it gets
    jifen keywords history [--limit N]                      who changed what, when

Changes go to the database, on top of the keywords file, and running gateways take them up within
`keywords_reload_interval` seconds. A change that would make a keyword mean two commands, or take a
STOP, START, YES or NO word, is refused and nothing is written. `--by` names who made the change
in the audit trail (default: the operating-system user).

`test` runs the real parser and dispatcher against the keywords in force, with a sample member
(1,350 points, language as --language, or none yet) and nothing written or sent.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from gateway.cli.core import CommandError, migrated_engine
from gateway.commands import Balance, Member, Request, describe, execute, parse, replies
from gateway.commands.context import Redeemed
from gateway.commands.table import KeywordTable
from gateway.store import keywords

SAMPLE_BALANCE = Balance(available=1350, on_hold=0)


def register(commands) -> None:
    parser = commands.add_parser("keywords", help="keywords per language, changed at runtime")
    actions = parser.add_subparsers(required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the keywords in force")
    listing.add_argument("--command", help="only this command, e.g. BAL")
    listing.add_argument("--language", help="only this language, e.g. zh")
    listing.set_defaults(handler=_list)

    for action, what in (("add", "make KEYWORD mean COMMAND"), ("remove", "take KEYWORD away")):
        change = actions.add_parser(action, help=what)
        change.add_argument("command", type=str.upper, help="e.g. BAL, REDEEM")
        change.add_argument("language", type=str.lower, help="e.g. en, zh, sw")
        change.add_argument("keyword")
        change.add_argument("--by", default=None, help="who makes the change (default: you)")
        if action == "add":
            change.add_argument("--first", action="store_true",
                                help="show this keyword in replies (put it first)")
        change.set_defaults(handler=_change, action=action)

    test = actions.add_parser("test", help="what a message parses to, and the reply it would get")
    test.add_argument("text")
    test.add_argument("--language", default=None, help="the sample member's language")
    test.add_argument("--stranger", action="store_true", help="send as a number that is not a member")
    test.set_defaults(handler=_test)

    history = actions.add_parser("history", help="the latest keyword changes")
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(handler=_history)


def _current(config, conn) -> tuple[KeywordTable, list[keywords.Override]]:
    base = KeywordTable.load(config.keywords_path)
    try:
        return keywords.effective_table(conn, base), keywords.overrides(conn)
    except ValueError as error:  # the file was edited into a conflict with a stored change
        raise CommandError(str(error).splitlines()[0]) from None


def _list(config, args):
    with migrated_engine(config).begin() as conn:
        table, changes = _current(config, conn)
    for command in table.commands:
        if args.command and command != args.command.upper():
            continue
        grammar = " ".join(str(spec) for spec in table.grammar(command)) or "-"
        print(f"{command:<10}args: {grammar}")
        for language in table.languages:
            if args.language and language != args.language.lower():
                continue
            shown = _marked(table.keywords(command, language), changes, command, language)
            if shown:
                print(f"  {language:<8}{' '.join(shown)}")
    print("(+ added, - removed with `jifen keywords`; the first keyword is the one replies show)")


def _marked(listed, changes, command: str, language: str) -> list[str]:
    mine = [c for c in changes if c.command == command and c.language == language]
    added = {c.keyword.casefold() for c in mine if c.action == "add"}
    shown = [("+" if kw.casefold() in added else "") + kw for kw in listed]
    return shown + ["-" + c.keyword for c in mine if c.action == "remove"]


def _change(config, args):
    by = args.by or _os_user()
    now = datetime.now(timezone.utc)
    base = KeywordTable.load(config.keywords_path)
    try:
        with migrated_engine(config).begin() as conn:
            if args.action == "add":
                keywords.add(conn, base, args.command, args.language, args.keyword, by=by, now=now,
                             first=args.first)
            else:
                keywords.remove(conn, base, args.command, args.language, args.keyword, by=by, now=now)
    except keywords.Refused as refused:
        raise CommandError(f"refused: {refused}") from None
    done = "now means" if args.action == "add" else "no longer means"
    print(f"{args.keyword} {done} {args.command} in {args.language}; running gateways take it up "
          f"within {config.keywords_reload_interval:g} s")


def _test(config, args):
    with migrated_engine(config).begin() as conn:
        table, _ = _current(config, conn)
    member = None if args.stranger else Member(
        id=0, msisdn="0", name="sample member", language=args.language, points_account=0)
    dry_run = _DryRun()
    print(f"parsed:   {describe(parse(args.text, table, config.phone_region))}")
    outcome = execute(Request("0", "0", args.text, member, message_id=0), table, dry_run,
                      config.default_language, region=config.phone_region)
    for reply in outcome.replies:
        used, limit = replies.sms_length(reply.text)
        encoding = "GSM-7" if limit == 160 else "UCS-2"
        print(f"reply:    {reply.text}")
        print(f"          {reply.language}, {used} of {limit} characters ({encoding})"
              + ("" if used <= limit else ": more than one SMS"))
    if outcome.remember_language:
        print(f"remember: language {outcome.remember_language}")
    for effect in dry_run.effects:
        print(f"effect:   {effect} (not done: this is a test)")


class _DryRun:
    """`Services` that change nothing and say what they would have done."""

    def __init__(self):
        self.effects: list[str] = []

    def points_balance(self, account_id: int) -> Balance:
        return SAMPLE_BALANCE

    def set_opt_out(self, msisdn: str, opted_out: bool) -> None:
        self.effects.append("promotions off for this phone" if opted_out
                            else "promotions back on for this phone")

    # CAT, REDEEM, HIST, PIN: an empty catalogue and history; a redemption and PINs that
    # would be made (the reply shows their shape: "processing", as the real one may be).
    def catalogue(self, language: str) -> tuple:
        return ()

    def redeem(self, member, item, quantity, pin, *, key, language, short_code) -> Redeemed:
        self.effects.append(f"redeem {quantity} x {item}")
        return Redeemed("R8K2P", item, item, "voucher", quantity, 0, "processing")

    def history(self, member, limit: int) -> tuple:
        return ()

    def set_pin(self, member, new_pin) -> None:
        self.effects.append("PIN set")

    def change_pin(self, member, old_pin, new_pin) -> None:
        self.effects.append("PIN changed")


def _history(config, args):
    with migrated_engine(config).begin() as conn:
        rows = keywords.history(conn, args.limit)
    for row in rows:
        print(f"{row.changed_at:%Y-%m-%d %H:%M:%S}  {row.changed_by:<12} {row.action:<10} "
              f"{row.command:<8} {row.language:<4} {row.keyword}")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"
