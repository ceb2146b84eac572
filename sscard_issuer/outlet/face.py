"""The personalised side of the card, drawn with Pillow at a printer's canvas.

The layout is written once in millimetres on the ID-1 card (85.60 × 53.98 mm) and scaled to the
canvas, so the same face comes out at the card's exact 300 dpi size (1011 × 638, CUPS) and at an
overscanning printer's panel (Evolis 1016 × 648). The chip area (ISO/IEC 7816-2 contact position
plus a margin) stays white: :func:`chip_area` gives it in pixels so the overlay panel can skip it.

Rendering is deterministic (no clock, no randomness): the same :class:`CardFace` gives the same
pixels with the same Pillow, FreeType and font, which the snapshot tests rely on.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from sscard_issuer.card.applicant import Applicant
from sscard_issuer.card.identifiers import CardNumber, SocialSecurityNumber
from sscard_issuer.errors import FieldError, SscardError, ValidationError
from sscard_issuer.outlet import geometry
from sscard_issuer.outlet.geometry import CARD_MM, CHIP_MARGIN_MM, ISO_7816_CONTACTS_MM, flatten

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

__all__ = [
    "BANK_NUMBER_GROUPS", "CARD_MM", "CJK_FONT_PACKAGE", "CUPS_CANVAS", "EVOLIS_CANVAS",
    "FONT_CANDIDATES", "PHOTO_RATIO", "CardFace", "FaceFonts", "FaceLayoutError", "FontFace",
    "FontMissing", "chip_area", "find_fonts", "flatten", "format_bank_number", "photo_box",
    "render_face",
]

#: The ID-1 card body, width × height in millimetres (ISO/IEC 7810; card.md §7).
#: The card at exactly 300 dpi (face-only CUPS printing) and an Evolis panel (with overscan).
CUPS_CANVAS = (1011, 638)
EVOLIS_CANVAS = (1016, 648)
#: The holder photo, width : height (card.md §7: 358 × 441 pixels).
PHOTO_RATIO = (358, 441)
#: card.md §7: the 19-digit bank card number is shown as 6 digits, a space, then the rest.
#: Each entry is the size of one leading group; the remaining digits form the last group.
BANK_NUMBER_GROUPS: tuple[int, ...] = (6,)

# ISO/IEC 7816-2 contacts C1-C8 (minimum areas), left/top/right/bottom in mm from the card's left
# and top edges; the margin covers the module plate around the contacts and print registration.

#: Debian package with the CJK font the face is drawn in.
CJK_FONT_PACKAGE = "fonts-noto-cjk"
#: Where distributions put Noto Sans CJK (Debian/Ubuntu first), regular and bold.
FONT_CANDIDATES: dict[str, tuple[Path, ...]] = {
    weight: tuple(Path(p.format(w=weight.capitalize())) for p in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc",  # Debian, Ubuntu: fonts-noto-cjk
        "/usr/share/fonts/noto-cjk/NotoSansCJK-{w}.ttc",  # Arch: noto-fonts-cjk
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-{w}.ttc",  # Fedora
        "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-{w}.ttc",  # Fedora 39+
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-{w}.otf",  # older Debian, single-face files
    ))
    for weight in ("regular", "bold")
}
_FAMILY = "Noto Sans CJK SC"
_MONO_FAMILY = "Noto Sans Mono CJK SC"

# Colours: a white card, the title and rule in the card's red, labels grey, data black.
WHITE = (255, 255, 255)
_TITLE_RED = (184, 17, 42)
_LABEL_GREY = (90, 90, 90)
_BLACK = (0, 0, 0)

TITLE = "中华人民共和国社会保障卡"
LABELS = ("姓名", "社会保障号码", "社会保障卡号", "发卡日期")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FontMissing(SscardError):
    """The CJK font the card face needs is not installed."""


class FaceLayoutError(SscardError):
    """A value does not fit on the card face even at the smallest allowed size."""

    def __init__(self, field: str, text: str, width_mm: float) -> None:
        self.field = field
        super().__init__(f"{field}: {text!r} does not fit the card face ({width_mm:.1f} mm) "
                         "even at the smallest type size")


@dataclass(frozen=True)
class FontFace:
    """One face of a font file: the path and the face index inside a collection (.ttc)."""

    path: Path
    index: int = 0

    def at(self, size_px: int) -> FreeTypeFont:
        return _truetype(str(self.path), self.index, size_px)


@dataclass(frozen=True)
class FaceFonts:
    """The faces the card face is drawn in."""

    regular: FontFace
    bold: FontFace
    mono: FontFace  # the bank card number, so its digit groups line up


@functools.lru_cache(maxsize=64)
def _truetype(path: str, index: int, size_px: int) -> FreeTypeFont:
    # FreeTypeFont, not ImageFont.truetype: that one, failing, looks for the file's name in the
    # system font folders and may load another file than the one named
    return ImageFont.FreeTypeFont(path, size_px, index=index)


def _find_face(path: Path, family: str) -> FontFace | None:
    """The face of ``family`` in ``path`` (a collection holds JP, KR, SC, TC... faces)."""
    for index in range(32):
        try:
            name, _style = ImageFont.FreeTypeFont(str(path), 12, index=index).getname()
        except OSError:  # past the last face, or not a font at all
            return None
        if name == family:
            return FontFace(path, index)
    return None


def find_fonts(regular: Sequence[Path] = FONT_CANDIDATES["regular"],
               bold: Sequence[Path] = FONT_CANDIDATES["bold"]) -> FaceFonts:
    """Noto Sans CJK SC from the first candidate path that holds it.

    Raises :class:`FontMissing` when no regular face is found; a missing bold file falls back to
    the regular face (only the title and the name are bold).
    """
    return _find_fonts(tuple(Path(p) for p in regular), tuple(Path(p) for p in bold))


@functools.lru_cache(maxsize=8)
def _find_fonts(regular: tuple[Path, ...], bold: tuple[Path, ...]) -> FaceFonts:

    def first(paths: Sequence[Path], family: str) -> FontFace | None:
        for path in paths:
            if path.is_file() and (face := _find_face(path, family)) is not None:
                return face
        return None

    regular_face = first(regular, _FAMILY)
    if regular_face is None:
        tried = ", ".join(str(p) for p in regular)
        raise FontMissing(f"the card face needs the font {_FAMILY!r}, not found in {tried}: "
                          f"install the Debian package {CJK_FONT_PACKAGE} (apt-get install {CJK_FONT_PACKAGE})")
    bold_face = first(bold, _FAMILY) or regular_face
    mono_face = first(regular, _MONO_FAMILY) or regular_face
    return FaceFonts(regular_face, bold_face, mono_face)


def format_bank_number(number: str, groups: Sequence[int] = BANK_NUMBER_GROUPS) -> str:
    """``number`` split into groups: the leading group sizes given, then the rest as one group.

    >>> format_bank_number("6217000010012345678")
    '621700 0010012345678'
    >>> format_bank_number("6217000010012345678", groups=(4, 4, 4, 4))
    '6217 0000 1001 2345 678'
    """
    parts: list[str] = []
    rest = number
    for size in groups:
        if not rest:
            break
        parts.append(rest[:size])
        rest = rest[size:]
    if rest:
        parts.append(rest)
    return " ".join(parts)


@dataclass(frozen=True)
class CardFace:
    """What the personalised side shows (card.md §7). Validated when built.

    ``photo`` is a decoded image or the encoded bytes (JPEG, PNG); None leaves the photo area
    white (children under 7 may apply without one). ``issue_date`` is shown as year and month.
    ``bank_card_number`` is 12-19 digits, or empty for a card without a bank application.
    ``area_name`` (the issuing city, e.g. 南宁市) is shown beside the title when given.
    """

    photo: Image.Image | bytes | None
    name: str
    ssn: SocialSecurityNumber
    card_number: CardNumber
    issue_date: date
    bank_card_number: str = ""
    area_name: str = ""

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not isinstance(self.name, str) or not self.name or self.name != self.name.strip() \
                or _CONTROL.search(self.name):
            errors.append(FieldError("name", "a name without surrounding spaces or control characters",
                                     self.name))
        for field, kind in (("ssn", SocialSecurityNumber), ("card_number", CardNumber)):
            if not isinstance(getattr(self, field), kind):
                errors.append(FieldError(field, f"a {kind.__name__}", getattr(self, field)))
        if not isinstance(self.issue_date, date):
            errors.append(FieldError("issue_date", "a date", self.issue_date))
        bank = self.bank_card_number
        if not isinstance(bank, str) or (bank and not (bank.isascii() and bank.isdigit()
                                                       and 12 <= len(bank) <= 19)):
            errors.append(FieldError("bank_card_number", "12 to 19 digits, or empty", bank))
        if not isinstance(self.area_name, str) or _CONTROL.search(self.area_name) \
                or self.area_name != self.area_name.strip():
            errors.append(FieldError("area_name", "a place name without control characters", self.area_name))
        try:
            self.photo_image()
        except FieldError as error:
            errors.append(error)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def from_applicant(cls, applicant: Applicant, *, photo: Image.Image | bytes | None,
                       bank_card_number: str = "", area_name: str = "") -> CardFace:
        return cls(photo=photo, name=applicant.name, ssn=applicant.ssn, card_number=applicant.card_number,
                   issue_date=applicant.issue_date, bank_card_number=bank_card_number, area_name=area_name)

    def photo_image(self) -> Image.Image | None:
        """The photo as an RGB image (transparency flattened onto white), or None."""
        photo: object = self.photo
        if photo is None:
            return None
        if isinstance(photo, bytes | bytearray):
            data = bytes(photo)
            try:
                with Image.open(io.BytesIO(data)) as decoded:
                    decoded.load()
                    photo = ImageOps.exif_transpose(decoded)  # a copy, upright as the camera held it
            except (UnidentifiedImageError, OSError, ValueError):
                raise FieldError("photo", "a JPEG or PNG image", f"{len(data)} undecodable bytes") from None
        if not isinstance(photo, Image.Image):
            raise FieldError("photo", "a PIL image, image bytes or None", type(photo).__name__)
        if photo.width < 1 or photo.height < 1:
            raise FieldError("photo", "a non-empty image", photo.size)
        return flatten(photo)


class _Scale:
    """Millimetres on the card to pixels on the canvas (the two axes may differ slightly)."""

    def __init__(self, canvas: tuple[int, int]) -> None:
        width, height = canvas
        if width < 100 or height < 60 or isinstance(width, bool) or isinstance(height, bool):
            raise FieldError("canvas", "(width, height) in pixels, at least 100 × 60", canvas)
        self.canvas = canvas
        self.x = width / CARD_MM[0]
        self.y = height / CARD_MM[1]

    def px(self, x_mm: float, y_mm: float) -> tuple[int, int]:
        return round(x_mm * self.x), round(y_mm * self.y)

    def size(self, mm: float) -> int:
        """A type size (the em square) in pixels; type scales with the card's height."""
        return max(1, round(mm * self.y))


def chip_area(canvas: tuple[int, int] = CUPS_CANVAS) -> tuple[int, int, int, int]:
    """The chip keep-out on ``canvas`` (:func:`sscard_issuer.outlet.geometry.chip_area`)."""
    return geometry.chip_area(canvas)


# -- the layout, in millimetres on the card ---------------------------------------------------------

_MARGIN = 5.0  # left and right margin of the title band and the bank number
_TITLE_BASELINE, _TITLE_SIZE = 8.6, 4.0
_AREA_SIZE = 2.8
_RULE_Y, _RULE_WIDTH = 11.0, 0.25
_PHOTO_TOP, _PHOTO_HEIGHT, _PHOTO_RIGHT = 13.5, 26.5, CARD_MM[0] - 4.0
_FIELDS_LEFT = ISO_7816_CONTACTS_MM[2] + CHIP_MARGIN_MM + 2.1  # clear of the chip
_FIELD_GAP = 2.0  # between the data column and the photo
# (label baseline, value baseline, value size, bold) for name, SSN, card number, issue date
_ROWS = ((15.2, 19.6, 3.6, True), (23.0, 26.4, 2.7, False), (29.8, 33.2, 2.7, False),
         (36.6, 40.0, 2.7, False))
_LABEL_SIZE = 1.9
_BANK_BASELINE, _BANK_SIZE = 48.5, 3.6
_MIN_SHRINK = 0.5  # a value may shrink to half its type size to fit, no further


def photo_box(canvas: tuple[int, int] = CUPS_CANVAS) -> tuple[int, int, int, int]:
    """Where the photo goes on ``canvas``: (left, top, right, bottom) pixels, at the 358:441 ratio."""
    scale = _Scale(canvas)
    right, top = scale.px(_PHOTO_RIGHT, _PHOTO_TOP)
    height = round(_PHOTO_HEIGHT * scale.y)
    width = round(height * PHOTO_RATIO[0] / PHOTO_RATIO[1])
    return right - width, top, right, top + height


def render_face(face: CardFace, canvas: tuple[int, int] = CUPS_CANVAS, *,
                fonts: FaceFonts | None = None,
                bank_number_groups: Sequence[int] = BANK_NUMBER_GROUPS) -> Image.Image:
    """The face as an RGB image of ``canvas`` pixels (width, height), white where nothing is drawn.

    Raises :class:`FontMissing` without the CJK font, :class:`FaceLayoutError` when a value does
    not fit even at half its type size.
    """
    scale = _Scale(canvas)
    fonts = fonts or find_fonts()
    image = Image.new("RGB", canvas, WHITE)
    draw = ImageDraw.Draw(image)
    photo_left, photo_top, photo_right, photo_bottom = photo_box(canvas)

    # title band: the title on the left, the issuing area on the right, a rule below
    title_font = fonts.bold.at(scale.size(_TITLE_SIZE))
    title_at = scale.px(_MARGIN, _TITLE_BASELINE)
    draw.text(title_at, TITLE, font=title_font, fill=_TITLE_RED, anchor="ls")
    right_edge = scale.px(CARD_MM[0] - _MARGIN, 0)[0]
    if face.area_name:
        title_end = title_at[0] + draw.textlength(TITLE, font=title_font)
        room = right_edge - title_end - 2 * scale.x
        area_font = _fit(draw, face.area_name, fonts.regular, scale.size(_AREA_SIZE), room, "area_name", scale)
        draw.text((right_edge, title_at[1]), face.area_name, font=area_font, fill=_TITLE_RED, anchor="rs")
    rule_y = round(_RULE_Y * scale.y)
    rule_h = max(1, round(_RULE_WIDTH * scale.y))
    draw.rectangle((title_at[0], rule_y, right_edge - 1, rule_y + rule_h - 1), fill=_TITLE_RED)

    # the holder's data: label above value, between the chip and the photo
    left = round(_FIELDS_LEFT * scale.x)
    room = photo_left - round(_FIELD_GAP * scale.x) - left
    label_font = fonts.regular.at(scale.size(_LABEL_SIZE))
    values = (face.name, str(face.ssn), str(face.card_number),
              f"{face.issue_date.year}年{face.issue_date.month:02d}月")
    names = ("name", "ssn", "card_number", "issue_date")
    for (label_y, value_y, size, bold), label, value, field in zip(_ROWS, LABELS, values, names, strict=True):
        draw.text((left, round(label_y * scale.y)), label, font=label_font, fill=_LABEL_GREY, anchor="ls")
        value_font = _fit(draw, value, fonts.bold if bold else fonts.regular, scale.size(size), room, field, scale)
        draw.text((left, round(value_y * scale.y)), value, font=value_font, fill=_BLACK, anchor="ls")

    photo = face.photo_image()
    if photo is not None:
        box = (photo_right - photo_left, photo_bottom - photo_top)
        fitted = ImageOps.fit(photo, box, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
        image.paste(fitted, (photo_left, photo_top))

    if face.bank_card_number:
        shown = format_bank_number(face.bank_card_number, bank_number_groups)
        bank_at = scale.px(_MARGIN, _BANK_BASELINE)
        bank_font = _fit(draw, shown, fonts.mono, scale.size(_BANK_SIZE), right_edge - bank_at[0],
                         "bank_card_number", scale)
        draw.text(bank_at, shown, font=bank_font, fill=_BLACK, anchor="ls")
    return image


def _fit(draw: ImageDraw.ImageDraw, text: str, face: FontFace, size_px: int, room_px: float, field: str,
         scale: _Scale) -> FreeTypeFont:
    """The face at ``size_px``, or smaller until ``text`` fits in ``room_px`` (down to half size)."""
    smallest = max(1, math.ceil(size_px * _MIN_SHRINK))
    size = size_px
    font = face.at(size)
    width = draw.textlength(text, font=font)
    while width > room_px:
        if size <= smallest:
            raise FaceLayoutError(field, text, max(room_px, 0) / scale.x)
        # jump near the size that fits, then step down one pixel at a time
        size = max(smallest, min(size - 1, math.floor(size * room_px / width)))
        font = face.at(size)
        width = draw.textlength(text, font=font)
    return font
