"""The PKI application's personalisation commands: one place for their codes, pure constructors.

The card side (``applets/pki.py``) and the terminal side (:mod:`.card_pki`) both read this module.
SELECT, READ BINARY, GET CHALLENGE and EXTERNAL AUTHENTICATE are the interindustry commands of
card.md section 3. The others are **this simulator's card OS commands (inferred)**: the
third-generation texts that define the real ones are not public. Their shapes follow ISO/IEC
7816-4/-8/-9 where a close command exists, and each is a named constant so that a profile for a
real card OS can replace it.

=================================  ==========================================================
APDU                               command
=================================  ==========================================================
``00 84 00 00 08``                 GET CHALLENGE (8 bytes; the cryptogram covers them)
``00 82 00 01 10 <c 8><r 8>``      EXTERNAL AUTHENTICATE with the transport key TK (id 01)
``80 46 00 00``                    GENERATE SM2 KEY PAIR: signing key pair on the card, X||Y
                                   into EF 0012; the certificate files and any encryption key
                                   are cleared (so a rerun starts clean)
``00 D6 <offset> Lc <data>``       UPDATE BINARY of EF 0018 / 0019, up to 255 bytes a command
``80 D8 00 00 Lc <envelope>``      IMPORT ENCRYPTION KEY: a GM/T 0009 SM2EnvelopedKey
                                   (:mod:`.envelope`); longer envelopes go in parts with CLA
                                   ``90`` (ISO command chaining, CLA bit b5), the last part ``80``
``80 2A 9E 9A Lc <challenge> 00``  SIGN CHALLENGE: DER SM2 signature over
                                   ``CARD_AUTH_CONTEXT || challenge`` (16..64 bytes), default
                                   user id; proves the certified key is the card's own
``00 44 00 00``                    ACTIVATE (ISO 7816-9): ends personalisation, retires TK
=================================  ==========================================================

GENERATE, UPDATE BINARY, IMPORT and ACTIVATE need EXTERNAL AUTHENTICATE with TK in the same
selection of the application, and are refused (``6985``) once it is active. SIGN CHALLENGE needs
no authentication: the fixed context prefix keeps it from signing anything a document, a token or
a certificate could start with; signing documents for the holder (behind a PIN) is a later issue.
The ADF's FCI carries the life cycle status (tag ``8A``): ``03`` personalisation, ``05`` active.
"""

from __future__ import annotations

from sscard_issuer.apdu import ApduFormatError, CommandApdu

__all__ = [
    "CARD_AUTH_CONTEXT",
    "CHALLENGE_LENGTH",
    "CLA_CHAINED",
    "CLA_PROPRIETARY",
    "INS_ACTIVATE",
    "INS_EXTERNAL_AUTHENTICATE",
    "INS_GENERATE_KEY_PAIR",
    "INS_GET_CHALLENGE",
    "INS_IMPORT_ENCRYPTION_KEY",
    "INS_SIGN_CHALLENGE",
    "INS_UPDATE_BINARY",
    "KEY_ID_TK",
    "LCS_ACTIVE",
    "LCS_PERSONALISATION",
    "MAX_CHUNK",
    "SIGN_CHALLENGE_LENGTHS",
    "SIGN_P1P2",
    "TAG_LIFE_CYCLE",
    "activate",
    "external_authenticate",
    "generate_key_pair",
    "import_encryption_key",
    "sign_challenge",
    "update_binary",
]

CLA_PLAIN = 0x00
CLA_PROPRIETARY = 0x80
CLA_CHAINED = 0x90  # CLA_PROPRIETARY with b5 set: "more parts of this command follow"

INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_GENERATE_KEY_PAIR = 0x46  # (inferred) ISO 7816-8 GENERATE ASYMMETRIC KEY PAIR's code
INS_UPDATE_BINARY = 0xD6
INS_IMPORT_ENCRYPTION_KEY = 0xD8  # (inferred) the code GlobalPlatform's PUT KEY uses
INS_SIGN_CHALLENGE = 0x2A  # (inferred) PSO: COMPUTE DIGITAL SIGNATURE's code and P1-P2
SIGN_P1P2 = (0x9E, 0x9A)
INS_ACTIVATE = 0x44  # ISO 7816-9 ACTIVATE FILE on the current ADF

KEY_ID_TK = 0x01  # (inferred) the transport key's id in the PKI application
CHALLENGE_LENGTH = 8
MAX_CHUNK = 255  # the most data a short command APDU carries
MAX_OFFSET = 0x7FFF  # UPDATE/READ BINARY offset in P1-P2 (P1 b8 would mean an SFI)
SIGN_CHALLENGE_LENGTHS = range(16, 65)
# Signed in front of every SIGN CHALLENGE challenge (domain separation; see the module doc).
CARD_AUTH_CONTEXT = b"sscard PKI card authentication v1\x00"

TAG_LIFE_CYCLE = 0x8A  # ISO 7816-4 life cycle status byte in the FCI
LCS_PERSONALISATION = 0x03  # "initialisation"
LCS_ACTIVE = 0x05  # "operational, activated"


def external_authenticate(cryptogram: bytes, terminal_random: bytes) -> CommandApdu:
    """``00 82 00 01 10 <cryptogram 8><random 8>``: authenticate with TK."""
    if len(cryptogram) != 8 or len(terminal_random) != 8:
        raise ApduFormatError("external authenticate: cryptogram and random must be 8 bytes each")
    return CommandApdu(CLA_PLAIN, INS_EXTERNAL_AUTHENTICATE, 0x00, KEY_ID_TK, cryptogram + terminal_random)


def generate_key_pair() -> CommandApdu:
    """``80 46 00 00``: the card generates its SM2 signing key pair."""
    return CommandApdu(CLA_PROPRIETARY, INS_GENERATE_KEY_PAIR, 0x00, 0x00)


def update_binary(offset: int, data: bytes) -> CommandApdu:
    """``00 D6 <offset> Lc <data>`` into the current EF."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ApduFormatError(f"update binary: offset must be 0..{MAX_OFFSET}, got {offset}")
    if not 1 <= len(data) <= MAX_CHUNK:
        raise ApduFormatError(f"update binary: 1..{MAX_CHUNK} bytes a command, got {len(data)}")
    return CommandApdu(CLA_PLAIN, INS_UPDATE_BINARY, offset >> 8, offset & 0xFF, data)


def import_encryption_key(envelope: bytes) -> list[CommandApdu]:
    """IMPORT ENCRYPTION KEY, chained in parts of at most 255 bytes (CLA 90, last part CLA 80).

    The envelope is ciphertext, but it is marked sensitive anyway: traces have no use for it.
    """
    if not envelope:
        raise ApduFormatError("import encryption key: the envelope is empty")
    parts = [envelope[i : i + MAX_CHUNK] for i in range(0, len(envelope), MAX_CHUNK)]
    return [
        CommandApdu(CLA_CHAINED if n < len(parts) - 1 else CLA_PROPRIETARY,
                    INS_IMPORT_ENCRYPTION_KEY, 0x00, 0x00, part, sensitive=True)
        for n, part in enumerate(parts)
    ]


def sign_challenge(challenge: bytes) -> CommandApdu:
    """``80 2A 9E 9A Lc <challenge> 00``: the card signs ``CARD_AUTH_CONTEXT || challenge``."""
    if len(challenge) not in SIGN_CHALLENGE_LENGTHS:
        raise ApduFormatError(
            f"sign challenge: the challenge must be 16..64 bytes, got {len(challenge)}"
        )
    return CommandApdu(CLA_PROPRIETARY, INS_SIGN_CHALLENGE, *SIGN_P1P2, challenge, le=256)


def activate() -> CommandApdu:
    """``00 44 00 00``: end personalisation of the PKI application."""
    return CommandApdu(CLA_PLAIN, INS_ACTIVATE, 0x00, 0x00)
