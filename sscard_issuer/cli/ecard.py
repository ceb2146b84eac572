"""``sscard ecard ...`` and ``sscard serve platform``: the e-card on the command line.

``issue`` and ``code`` act on the platform's registry directly (as a member of staff); ``verify``
is what a relying party runs: it needs nothing but the platform's published address (``--issuer``),
fetches the key set and the status lists over HTTP, caches them as their headers allow (in
``--cache``), and remembers the codes it accepted there, so a code scanned twice is refused.
Exit codes: 0 valid; 15 not valid (the reason printed); the registry's codes otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sscard_issuer.cli.common import err, plain_errors
from sscard_issuer.cli.messages import language
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
)

if TYPE_CHECKING:
    from sscard_issuer.api.platform import Platform
    from sscard_issuer.credential.jose import Signer
    from sscard_issuer.lifecycle.office import Office

EXIT_NOT_VALID = 15
DEFAULT_ISSUER = "https://ecard.example"
IssuerOpt = Annotated[str, typer.Option("--issuer", metavar="URL", envvar="SSCARD_ISSUER", show_envvar=False,
                                        help="The platform's identifier and base URL.")]

SignerOpt = Annotated[str, typer.Option(
    "--signer", help="dev (ES256 key in keys/dev, TEST ONLY), dev-sm2 (the SM2 profile, TEST ONLY), or pkcs11 "
    "(--pkcs11-module, --token-label, --key-label; the PIN from $SSCARD_HSM_PIN).")]
Pkcs11ModuleOpt = Annotated[str | None, typer.Option("--pkcs11-module", metavar="PATH", help="PKCS#11 library.")]
TokenLabelOpt = Annotated[str | None, typer.Option("--token-label", help="PKCS#11 token label.")]
KeyLabelOpt = Annotated[str | None, typer.Option("--key-label", help="Label of the signing key in the token.")]

app = typer.Typer(help="Electronic social security cards. 电子社保卡。", no_args_is_help=True)
serve_app = typer.Typer(help="Run the HTTP services. 启动服务。", no_args_is_help=True)


def _signer(kind: str, module: str | None, token: str | None, key: str | None) -> Signer:
    from sscard_issuer.api.platform import development_signer, development_sm2_signer
    from sscard_issuer.credential.signers import Pkcs11Es256Signer

    if kind == "dev":
        return development_signer()
    if kind == "dev-sm2":
        return development_sm2_signer()
    if kind == "pkcs11":
        pin = os.environ.get("SSCARD_HSM_PIN")
        if not (module and token and key and pin):
            raise typer.BadParameter("pkcs11 needs --pkcs11-module, --token-label, --key-label and $SSCARD_HSM_PIN",
                                     param_hint="'--signer'")
        return Pkcs11Es256Signer(module, token, pin, key)
    raise typer.BadParameter("dev, dev-sm2 or pkcs11", param_hint="'--signer'")


def _platform(office: Office, issuer: str, signer: Signer | None = None) -> Platform:
    from sscard_issuer.api.platform import Platform, PlatformSettings

    return Platform(office.registry, settings=PlatformSettings(issuer=issuer), office=office, signer=signer)


@app.command("issue")
def issue(card: Annotated[str, typer.Argument(help="Card reference, identification code or holder's number.")],
          level: Annotated[int, typer.Option(min=1, max=2, help="1 identity and query; 2 adds the bank link.")] = 1,
          issuer: IssuerOpt = DEFAULT_ISSUER, signer: SignerOpt = "dev", pkcs11_module: Pkcs11ModuleOpt = None,
          token_label: TokenLabelOpt = None, key_label: KeyLabelOpt = None, database: DatabaseOpt = None,
          operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Issue (or renew) the card's e-card credential. 签发电子社保卡。"""
    with plain_errors(), open_office(database) as office:
        platform = _platform(office, issuer, _signer(signer, pkcs11_module, token_label, key_label))
        issued = platform.issue(acting(office, operator), card, level)
    doc = {"ecard_id": issued.ecard.ecard_id, "issuance_number": issued.ecard.issuance_number,
           "level": issued.ecard.level, "created": issued.created, "token": issued.token}
    if as_json:
        print_json(doc)
    else:
        err.print(f"{doc['ecard_id']}  {doc['issuance_number']}  level {doc['level']}", markup=False)
        sys.stdout.write(issued.token + "\n")


@app.command("code")
def code(ecard_id: str,
         audience: Annotated[str, typer.Option(help="The verifier id the code is for.")],
         business: Annotated[str, typer.Option(help="01 query, 02 payment, 03 other, 04 cross-region medical.")] = "01",
         nonce: Annotated[str | None, typer.Option(help="The verifier's nonce, if it gave one.")] = None,
         qr: Annotated[Path | None, typer.Option(help="Also write the QR code (.png or .svg).")] = None,
         issuer: IssuerOpt = DEFAULT_ISSUER, signer: SignerOpt = "dev", pkcs11_module: Pkcs11ModuleOpt = None,
         token_label: TokenLabelOpt = None, key_label: KeyLabelOpt = None, database: DatabaseOpt = None,
         operator: OperatorOpt = None) -> None:
    """A presentation code for one scan (60 seconds, once). 生成电子社保卡二维码。"""
    from sscard_issuer.credential.codes import write_qr
    from sscard_issuer.credential.profile import BusinessType

    with plain_errors(), open_office(database) as office:
        acting(office, operator)
        try:
            kind = BusinessType(business)
        except ValueError:
            raise typer.BadParameter("one of 01, 02, 03, 04", param_hint="'--business'") from None
        made = _platform(office, issuer, _signer(signer, pkcs11_module, token_label, key_label)).code(ecard_id, business=kind, audience=audience, nonce=nonce)
        if qr is not None:
            write_qr(made, qr)
    sys.stdout.write(made + "\n")


@app.command("rotate-key")
def rotate_key(signer: SignerOpt = "dev", pkcs11_module: Pkcs11ModuleOpt = None, token_label: TokenLabelOpt = None,
               key_label: KeyLabelOpt = None,
               code_kid: Annotated[str | None, typer.Option(help="Short kid for codes (default: the next unused, c2...).")] = None,
               issuer: IssuerOpt = DEFAULT_ISSUER, database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Sign with a new key from now on; retired keys stay published while what they signed is valid.
    启用新的签名密钥。

    Then restart every `sscard serve platform` with the new key: servers still holding a retired key
    refuse to sign (codes, status lists, e-cards) once they see the rotation."""
    from sscard_issuer.api.platform import PlatformSettings, rotate_signing_key

    with plain_errors(), open_office(database) as office:
        new = _signer(signer, pkcs11_module, token_label, key_label)
        grace, now = PlatformSettings(issuer=issuer).retired_key_grace, office.clock()
        alias, retired = rotate_signing_key(office.registry, new, code_kid=code_kid, at=now, grace=grace)
        doc = {"kid": new.kid, "code_kid": alias, "alg": new.alg, "retired": retired,
               "published_until_at_least": (now + grace).isoformat()}
    if as_json:
        print_json(doc)
    else:
        err.print(f"signing key {doc['kid']} (codes: {doc['code_kid']}); retired: {', '.join(retired) or 'none'}, "
                  f"published at least until {doc['published_until_at_least']}", markup=False)


@app.command("qr")
def qr(code: str, out: Annotated[Path, typer.Option("--out", help="The image file (.png or .svg).")]) -> None:
    """Draw a code as a QR image. 生成二维码图片。"""
    from sscard_issuer.credential.codes import write_qr

    with plain_errors():
        write_qr(code.strip(), out)
    err.print(str(out), markup=False)


@app.command("verify")
def verify(token: Annotated[str, typer.Argument(help="A presentation code or a credential; - reads stdin.")],
           issuer: Annotated[str, typer.Option("--issuer", metavar="URL", help="The platform's published address.")],
           audience: Annotated[str, typer.Option(help="This verifier's id (codes must be made for it).")] = "",
           nonce: Annotated[str | None, typer.Option(help="The nonce this verifier gave, if any.")] = None,
           card_id: Annotated[str | None, typer.Option(help="Identification code of a card tapped with it.")] = None,
           cache: Annotated[Path | None, typer.Option(help="Cache folder (key set, status lists, codes seen).")] = None,
           algorithm: Annotated[list[str] | None, typer.Option(
               "--algorithm", help="Accepted signature algorithms (repeat); default ES256. SM2 for the national profile.")] = None,
           as_json: JsonOpt = False) -> None:
    """Verify as a relying party, from the platform's published key set and status lists. 核验。"""
    from sscard_issuer.credential.fetch import IssuerClient
    from sscard_issuer.credential.replay import FileReplayStore
    from sscard_issuer.credential.verify import Verifier, VerifierSettings

    folder = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sscard" / "verify"
    value = sys.stdin.read() if token == "-" else token
    algorithms = tuple(algorithm or ("ES256",))
    client = IssuerClient(issuer, cache_dir=folder / "http", algorithms=algorithms)
    try:
        settings = VerifierSettings(issuer=issuer.rstrip("/"), audience=audience, status_base=client.status_base,
                                    algorithms=algorithms)
        verifier = Verifier(settings, client.keys, client, FileReplayStore(folder / "codes.sqlite3"))
        result = (verifier.verify_credential(value, card_id=card_id) if "~" in value
                  else verifier.verify_code(value, nonce=nonce))
    finally:
        client.close()
    if as_json:
        print_json(result.to_json())
    else:
        lang = language()
        err.print(("✔ " if result.valid else "✘ ") + result.message(lang), markup=False)
        if result.valid:
            sys.stdout.write(json.dumps(dict(result.claims), ensure_ascii=False, indent=2) + "\n")
    if not result.valid:
        raise typer.Exit(EXIT_NOT_VALID)


@serve_app.command("platform")
def serve_platform(host: Annotated[str, typer.Option()] = "127.0.0.1",
                   port: Annotated[int, typer.Option()] = 8443,
                   issuer: Annotated[str | None, typer.Option(metavar="URL", help="Default: http://HOST:PORT.")] = None,
                   clients: Annotated[Path | None, typer.Option(help="JSON file of API clients (key digests, rights).")] = None,
                   signer: SignerOpt = "dev", pkcs11_module: Pkcs11ModuleOpt = None, token_label: TokenLabelOpt = None,
                   key_label: KeyLabelOpt = None, database: DatabaseOpt = None) -> None:
    """The national platform's e-card service (OpenAPI at /openapi.json). 电子社保卡平台服务。"""
    import uvicorn

    from sscard_issuer.api.platform import Platform, PlatformSettings
    from sscard_issuer.api.platform_app import Clients, create_app

    with plain_errors(), open_office(database) as office:
        platform = Platform(office.registry, office=office, signer=_signer(signer, pkcs11_module, token_label, key_label),
                            settings=PlatformSettings(issuer=issuer or f"http://{host}:{port}"))
        if clients is None:
            raise typer.BadParameter("a clients file is needed (see README: the platform's callers)",
                                     param_hint="'--clients'")
        app = create_app(platform, Clients.from_json(json.loads(clients.read_text("utf-8"))))
        uvicorn.run(app, host=host, port=port, log_level="warning")


@serve_app.command("outlet")
def serve_outlet(host: Annotated[str, typer.Option()] = "127.0.0.1",
                 port: Annotated[int, typer.Option()] = 8080,
                 database: DatabaseOpt = None,
                 outlet: Annotated[str, typer.Option(metavar="CODE", help="The outlet of the simulated printers.")] = "NN01",
                 simulated_printers: Annotated[int, typer.Option(
                     metavar="N", help="Printer simulators run here for --outlet (0: none).")] = 1,
                 out: Annotated[Path | None, typer.Option(help="Keep the simulated printers' prints (PNG) here.")] = None,
                 timing_scale: Annotated[float, typer.Option(
                     help="The simulated mechanics' speed: 1 real (20 s a print), 0 instant.")] = 0.1,
                 demo_staff: Annotated[bool, typer.Option(
                     help="On a fresh registry, add demonstration accounts (passwords printed).")] = False,
                 session_minutes: Annotated[float, typer.Option(help="Sign out after this long idle.")] = 30.0) -> None:
    """The outlet operators' web console (simplified Chinese, English on request). 网点业务系统。"""
    from sscard_issuer.api.console.serve import serve_outlet as serve

    with plain_errors():
        serve(host=host, port=port, database=database, outlet=outlet, simulated_printers=simulated_printers,
              out=out, timing_scale=timing_scale, demo_staff=demo_staff, session_minutes=session_minutes)
