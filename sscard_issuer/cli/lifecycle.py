"""``sscard card status|report-loss|cancel-loss|activate|collect|cancel|replace``: a card's life at the counter.

KEY is the card reference, the card identification code, or the holder's social security number
(their live card, else their newest). Each action prints the card's status after it (``--json``:
the same document as ``sscard card status --json``). ``--expected-version N`` refuses the action
(exit 11) if the card changed since the operator read it at version N.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sscard_issuer.cli.apply import (
    AddressOpt,
    CollectAtOpt,
    DeliveryChoice,
    DeliveryOpt,
    InstantOpt,
    PostcodeOpt,
    RecipientOpt,
    RecipientPhoneOpt,
    delivery,
)
from sscard_issuer.cli.common import out, plain_errors
from sscard_issuer.cli.messages import Lang, language, text
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    ExpectedVersionOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    read_file,
    show_fields,
    shown,
)

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.access import Actor
    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.lifecycle.status_view import CardStatus

KeyArg = Annotated[str, typer.Argument(
    metavar="KEY", help="Card reference, card identification code or social security number.")]


def _state(value: str | None, lang: Lang) -> str | None:
    from sscard_issuer.lifecycle.states import CardState

    return CardState(value).display(lang) if value else None


def _action(value: str, lang: Lang) -> str:
    from sscard_issuer.lifecycle.states import ActionKind

    try:
        return ActionKind(value).display(lang)
    except ValueError:
        return value


def show_status(status: CardStatus, *, as_json: bool) -> None:
    """The card as ``sscard card status`` shows it: fields, then the history."""
    from sscard_issuer.applications.requests import ApplicationKind

    lang = language()
    if as_json:
        print_json(status.to_json(lang))
        return
    show_fields(text("card_status"), [
        (text("card_ref"), status.card_ref),
        (text("state"), status.state.display(lang)),
        (text("card_version"), status.version),
        (text("holder"), status.holder_name),
        (text("ssn"), status.social_security_number),
        (text("application_id"), status.application_id),
        (text("application_kind"), ApplicationKind(status.application_kind).display(lang)),
        (text("delivery"), text(f"delivery_{status.delivery}")),
        (text("tracking_number"), status.tracking_number),
        (text("card_number"), status.card_number),
        (text("card_id"), status.card_id),
        (text("loss_reported_at"), status.loss_reported_at),
        (text("loss_expires_at"), status.loss_expires_at),
        (text("replaces"), status.replaces),
        (text("replaced_by"), status.replaced_by),
        (text("allowed_actions"), "、".join(_action(a, lang) for a in status.allowed) if lang == "zh"
         else "; ".join(_action(a, lang) for a in status.allowed)),
    ])  # fmt: skip
    history = Table(title=text("history"))
    for header in ("at", "action", "from_state", "to_state", "operator", "outlet"):
        history.add_column(text(header), overflow="fold")
    for line in status.history:
        history.add_row(*(escape(shown(v)) for v in (line.at, _action(line.action, lang), _state(line.source, lang),
                                                    _state(line.target, lang), line.operator, line.outlet_code)))
    out.print(history)


def _run(database: str | None, operator: str | None, as_json: bool,
         act: Callable[[Office, Actor], CardStatus]) -> None:
    with plain_errors(), open_office(database) as office:
        status = act(office, acting(office, operator))
    show_status(status, as_json=as_json)


def status(key: KeyArg, database: DatabaseOpt = None, operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Show a card: its state, holder, what may be done now, its history. 查询卡片状态。"""
    _run(database, operator, as_json, lambda office, actor: office.status(actor, key))


def report_loss(
    key: KeyArg,
    temporary: Annotated[bool | None, typer.Option(
        "--temporary/--formal", help="Temporary loss (临时挂失, lapses by itself) or formal loss (正式挂失, final).",
        show_default=False)] = None,
    expected_version: ExpectedVersionOpt = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report the card lost: --temporary or --formal. 挂失。"""
    if temporary is None:
        raise typer.BadParameter(text("need_loss_kind"), param_hint="'--temporary' / '--formal'")

    def act(office: Office, actor: Actor) -> CardStatus:
        from sscard_issuer.lifecycle.actions import LossKind

        loss = LossKind.TEMPORARY if temporary else LossKind.FORMAL
        return office.report_loss(actor, key, loss, expected_version=expected_version)

    _run(database, operator, as_json, act)


def cancel_loss(key: KeyArg, expected_version: ExpectedVersionOpt = None, database: DatabaseOpt = None,
                operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel a temporary loss: the card is usable again. 解挂。"""
    _run(database, operator, as_json,
         lambda office, actor: office.cancel_loss(actor, key, expected_version=expected_version))


def activate(key: KeyArg, expected_version: ExpectedVersionOpt = None, database: DatabaseOpt = None,
             operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Activate a collected card (the holder's identity checked). 启用。"""
    _run(database, operator, as_json,
         lambda office, actor: office.activate(actor, key, expected_version=expected_version))


def produce(key: KeyArg, expected_version: ExpectedVersionOpt = None, database: DatabaseOpt = None,
            operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Start making the card (the outlet's instant issuance does this itself). 制卡。"""
    _run(database, operator, as_json,
         lambda office, actor: office.produce(actor, key, expected_version=expected_version))


def collect(key: KeyArg, expected_version: ExpectedVersionOpt = None, database: DatabaseOpt = None,
            operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Hand the made card over to its holder. 领卡。"""
    _run(database, operator, as_json,
         lambda office, actor: office.collect(actor, key, expected_version=expected_version))


def cancel(key: KeyArg, expected_version: ExpectedVersionOpt = None, database: DatabaseOpt = None,
           operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel the card for good. 注销。"""
    _run(database, operator, as_json,
         lambda office, actor: office.cancel(actor, key, expected_version=expected_version))


def replace(
    key: KeyArg,
    photo: Annotated[Path | None, typer.Option(
        "--photo", metavar="FILE", help="The new photo (JPEG); none for a child under 7.")] = None,
    instant: InstantOpt = False,
    delivery_method: DeliveryOpt = DeliveryChoice.COLLECT,
    collect_at: CollectAtOpt = None,
    recipient: RecipientOpt = None,
    recipient_phone: RecipientPhoneOpt = None,
    address: AddressOpt = None,
    postcode: PostcodeOpt = None,
    expected_version: ExpectedVersionOpt = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the card (lost, worn or damaged): the old one dead, a new application filed. 补换卡。"""
    with plain_errors(), open_office(database) as office:
        actor = acting(office, operator)
        image = read_file(photo, "photo") if photo is not None else None
        where = delivery(delivery_method, collect_at=collect_at, recipient=recipient,
                         recipient_phone=recipient_phone, address=address, postcode=postcode)
        filed = office.replace(actor, key, photo=image, delivery=where, instant=instant,
                               expected_version=expected_version)
        new = office.status(actor, filed.card_ref)
    if as_json:
        print_json({"application_id": filed.application_id, "card_ref": filed.card_ref,
                    "person_id": filed.person_id, "replaces": new.replaces, "card": new.to_json(language())})
    else:
        show_fields(text("replacement_filed"), [(text("application_id"), filed.application_id),
                                                (text("card_ref"), filed.card_ref),
                                                (text("replaces"), new.replaces)])


def register(card_app: typer.Typer) -> None:
    """Add these commands to ``sscard card``."""
    card_app.command("status")(status)
    card_app.command("report-loss")(report_loss)
    card_app.command("cancel-loss")(cancel_loss)
    card_app.command("activate")(activate)
    card_app.command("produce")(produce)
    card_app.command("collect")(collect)
    card_app.command("cancel")(cancel)
    card_app.command("replace")(replace)
