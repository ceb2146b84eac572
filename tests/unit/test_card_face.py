"""The card face: snapshots at both canvases, the chip kept clear, the photo placed, text fitted.

Snapshots live in tests/data/faces/; ``SSCARD_UPDATE_SNAPSHOTS=1 python3 -m pytest -q
tests/unit/test_card_face.py`` rewrites them (look at them before committing).
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from sscard_issuer.card import Applicant
from sscard_issuer.card.identifiers import CardNumber, SocialSecurityNumber
from sscard_issuer.errors import ValidationError
from sscard_issuer.outlet.face import (
    CUPS_CANVAS,
    EVOLIS_CANVAS,
    PHOTO_RATIO,
    CardFace,
    FaceLayoutError,
    FontMissing,
    chip_area,
    find_fonts,
    format_bank_number,
    photo_box,
    render_face,
)

SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "faces"
UPDATE = os.environ.get("SSCARD_UPDATE_SNAPSHOTS") == "1"
CANVASES = [pytest.param(CUPS_CANVAS, id="cups"), pytest.param(EVOLIS_CANVAS, id="evolis")]
WHITE = (255, 255, 255)
BORDER = (20, 40, 140)  # the synthetic photo's frame, to find its edges on the face
# a snapshot may differ from the reference in this share of pixels (font rasteriser versions)
TOLERANCE_SHARE = 0.0001  # about 65 pixels: one changed digit is more
TOLERANCE_LEVEL = 64


def synthetic_photo() -> Image.Image:
    """A deterministic 358 × 441 'photo': a framed light background, a head and shoulders."""
    photo = Image.new("RGB", PHOTO_RATIO, (228, 236, 246))
    draw = ImageDraw.Draw(photo)
    draw.ellipse((109, 70, 249, 240), fill=(176, 124, 96))
    draw.pieslice((29, 250, 329, 560), 180, 360, fill=(60, 70, 90))
    draw.rectangle((0, 0, 357, 440), outline=BORDER, width=6)
    return photo


def a_face(**changes: object) -> CardFace:
    face = CardFace(photo=synthetic_photo(), name="李秀英", ssn=SocialSecurityNumber("450103198506151231"),
                    card_number=CardNumber("A12345678"), issue_date=date(2026, 11, 29),
                    bank_card_number="6217000010012345678", area_name="南宁市")
    return replace(face, **changes) if changes else face  # type: ignore[arg-type]


def differing_share(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    histogram = diff.histogram()
    return sum(histogram[TOLERANCE_LEVEL:]) / (a.width * a.height)


def ink_box(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box (in image coordinates) of everything not white inside ``box``."""
    region = image.crop(box)
    found = ImageChops.difference(region, Image.new("RGB", region.size, WHITE)).getbbox()
    if found is None:
        return None
    return found[0] + box[0], found[1] + box[1], found[2] + box[0], found[3] + box[1]


# -- snapshots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("canvas", CANVASES)
def test_face_matches_its_snapshot(canvas: tuple[int, int], tmp_path: Path) -> None:
    image = render_face(a_face(), canvas)
    assert image.mode == "RGB"
    assert image.size == canvas
    reference = SNAPSHOTS / f"face_{canvas[0]}x{canvas[1]}.png"
    if UPDATE or not reference.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {reference}: run with SSCARD_UPDATE_SNAPSHOTS=1 to make it")
        reference.parent.mkdir(parents=True, exist_ok=True)
        image.save(reference, optimize=True)
    with Image.open(reference) as expected:
        assert expected.size == canvas
        share = differing_share(image, expected)
    if share > TOLERANCE_SHARE:
        actual = tmp_path / reference.name
        image.save(actual)
        pytest.fail(f"face differs from {reference} in {share:.3%} of pixels; rendered: {actual} "
                    "(SSCARD_UPDATE_SNAPSHOTS=1 accepts it)")


def test_rendering_is_deterministic() -> None:
    assert render_face(a_face()).tobytes() == render_face(a_face()).tobytes()


# -- geometry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("canvas", CANVASES)
def test_chip_area_is_blank_white(canvas: tuple[int, int]) -> None:
    left, top, right, bottom = chip_area(canvas)
    # the ISO 7816-2 contacts, C1 at 10.25 mm from the left, 19.23 mm from the top, lie inside
    assert left <= 10.25 * canvas[0] / 85.6 and top <= 19.23 * canvas[1] / 53.98
    assert right >= 19.87 * canvas[0] / 85.6 and bottom >= 28.55 * canvas[1] / 53.98
    long_name = "阿卜杜热合曼·买买提依明·艾合买提江"  # shrunk, still clear of the chip
    for face in (a_face(), a_face(name=long_name, area_name="新疆维吾尔自治区乌鲁木齐市")):
        image = render_face(face, canvas)
        assert ink_box(image, (left, top, right, bottom)) is None
        # nothing sits in the band of the chip to the left of the data column
        assert ink_box(image, (0, top, right, bottom)) is None


def test_chip_area_at_300_dpi() -> None:
    assert chip_area(CUPS_CANVAS) == (97, 203, 259, 362)


@pytest.mark.parametrize("canvas", CANVASES)
def test_photo_fills_its_box_at_the_photo_ratio(canvas: tuple[int, int]) -> None:
    left, top, right, bottom = photo_box(canvas)
    assert abs((right - left) / (bottom - top) - 358 / 441) < 0.005
    assert right <= canvas[0] and left > canvas[0] // 2  # on the right half, inside the card
    image = render_face(a_face(), canvas)
    for x, y in ((left + 1, top + 1), (right - 2, top + 1), (left + 1, bottom - 2), (right - 2, bottom - 2)):
        r, _g, b = image.getpixel((x, y))  # type: ignore[misc]
        assert b > 100 and r < 80, (x, y)  # the photo's dark blue frame
    for x, y in ((left - 2, top + 5), (right + 1, top + 5), (left + 5, top - 2), (left + 5, bottom + 1)):
        assert image.getpixel((x, y)) == WHITE, (x, y)


def test_photo_of_another_ratio_is_cropped_to_fill_the_box() -> None:
    wide = Image.new("RGB", (800, 400), (10, 120, 10))
    image = render_face(a_face(photo=wide))
    left, top, right, bottom = photo_box()
    assert image.crop((left, top, right, bottom)).getcolors() == [((right - left) * (bottom - top), (10, 120, 10))]


def test_photo_as_bytes_and_transparency_flattened_on_white() -> None:
    clear = Image.new("RGBA", PHOTO_RATIO, (255, 0, 0, 0))
    data = io.BytesIO()
    clear.save(data, "PNG")
    image = render_face(a_face(photo=data.getvalue()))
    assert ink_box(image, photo_box()) is None  # transparent prints nothing, not black
    assert render_face(a_face(photo=None)).crop(photo_box()).getcolors() == image.crop(photo_box()).getcolors()


def test_long_name_shrinks_to_fit_before_the_photo() -> None:
    canvas = CUPS_CANVAS
    short = render_face(a_face(photo=None, name="李秀英"))
    long_name = "阿卜杜热合曼·买买提依明·艾合买提"
    long = render_face(a_face(photo=None, name=long_name))
    left, top, _, _ = photo_box(canvas)
    band = (0, top, canvas[0], round(21.0 * canvas[1] / 53.98))  # from the photo's top to below the name
    short_ink, long_ink = ink_box(short, band), ink_box(long, band)
    assert short_ink is not None and long_ink is not None
    assert long_ink[2] <= left - round(2.0 * canvas[0] / 85.6)  # ends before the gap to the photo
    assert long_ink[3] - long_ink[1] < short_ink[3] - short_ink[1]  # smaller type than the short name


def test_name_too_long_even_at_half_size_is_refused() -> None:
    with pytest.raises(FaceLayoutError, match="name"):
        render_face(a_face(name="长" * 40))


def test_issue_date_shows_year_and_month_only() -> None:
    first = render_face(a_face(issue_date=date(2026, 11, 1)))
    assert first.tobytes() == render_face(a_face(issue_date=date(2026, 11, 30))).tobytes()
    assert first.tobytes() != render_face(a_face(issue_date=date(2026, 12, 1))).tobytes()


# -- the bank card number -----------------------------------------------------------------------------


def test_bank_number_grouping() -> None:
    assert format_bank_number("6217000010012345678") == "621700 0010012345678"  # card.md §7: 6 + rest
    assert format_bank_number("6217000010012345678", (4, 4, 4, 4)) == "6217 0000 1001 2345 678"
    assert format_bank_number("6217000010012345", (4, 4, 4)) == "6217 0000 1001 2345"
    assert format_bank_number("621700", (6,)) == "621700"
    assert format_bank_number("") == ""


def test_bank_number_grouping_reaches_the_face() -> None:
    default = render_face(a_face())
    fours = render_face(a_face(), bank_number_groups=(4, 4, 4, 4))
    assert default.tobytes() != fours.tobytes()
    none = render_face(a_face(bank_card_number=""))
    bank_band = (0, round(42.0 * 638 / 53.98), 1011, 638)
    assert ink_box(none, bank_band) is None
    assert ink_box(default, bank_band) is not None


# -- validation and fonts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"bank_card_number": "6217-0000"}, "bank_card_number"),
    ({"bank_card_number": "12345"}, "bank_card_number"),
    ({"name": " 李秀英"}, "name"),
    ({"name": ""}, "name"),
    ({"photo": b"not an image"}, "photo"),
    ({"ssn": "450103198506151231"}, "ssn"),
    ({"area_name": "南宁\n市"}, "area_name"),
])
def test_invalid_face_data_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        a_face(**changes)
    assert [e.field for e in caught.value.errors] == [field]


def test_face_from_an_applicant(repo_root: Path) -> None:
    import json

    data = json.loads((repo_root / "sscard_issuer" / "data" / "sample_applicant.json").read_text("utf-8"))
    applicant = Applicant.from_json(data)
    face = CardFace.from_applicant(applicant, photo=None, bank_card_number="6217000010012345678")
    assert (face.name, str(face.ssn), str(face.card_number)) == (applicant.name, str(applicant.ssn),
                                                                 str(applicant.card_number))
    assert face.issue_date == applicant.issue_date


def test_missing_font_is_a_typed_error_naming_the_package(tmp_path: Path) -> None:
    junk = tmp_path / "NotoSansCJK-Regular.ttc"
    junk.write_bytes(b"not a font")
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        find_fonts(regular=[tmp_path / "missing.ttc", junk], bold=[])


def test_font_is_noto_sans_cjk_sc() -> None:
    fonts = find_fonts()
    assert fonts.regular.at(20).getname() == ("Noto Sans CJK SC", "Regular")
    assert fonts.bold.at(20).getname() == ("Noto Sans CJK SC", "Bold")
    assert fonts.mono.at(20).getname()[0] == "Noto Sans Mono CJK SC"
