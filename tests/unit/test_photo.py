"""The applicant photo, checked on synthetic portraits drawn here with Pillow."""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageDraw

from sscard_issuer.applications import (
    PHOTO_REQUIRED_FROM_AGE,
    Photo,
    PhotoProblemCode,
    PhotoRejected,
    PhotoRules,
    check_photo,
)
from sscard_issuer.errors import FieldError, SscardError

RULES = PhotoRules()
P = PhotoProblemCode
Background = tuple[int, int, int] | Callable[[int, int], Image.Image]


def portrait(background: Background = (255, 255, 255), size: tuple[int, int] = (358, 441), *,
             noise: int = 12, quality: int = 75, hair_top: int = 14, mode: str = "RGB",
             fmt: str = "JPEG") -> bytes:
    """A head and shoulders on ``background``: hair from ``hair_top`` px, face about 207 px wide,
    shoulders reaching both sides from about 72% of the height; ``noise`` grain on the figure sets
    the JPEG size (smooth areas compress to almost nothing)."""
    w, h = size
    image = background(w, h) if callable(background) else Image.new("RGB", size, background)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse([-0.1 * w, 0.72 * h, 1.1 * w, 1.5 * h], fill=255)  # shoulders
    draw.rectangle([0.42 * w, 0.55 * h, 0.58 * w, 0.78 * h], fill=255)  # neck
    draw.ellipse([0.21 * w, hair_top + 0.04 * h, 0.79 * w, 0.66 * h], fill=255)  # face
    draw.ellipse([0.25 * w, hair_top, 0.75 * w, 0.38 * h], fill=255)  # hair
    figure = Image.new("RGB", size, (150, 110, 90))
    if noise:
        figure = ImageChops.add(figure, Image.effect_noise(size, noise).convert("RGB"), offset=-128)
    image.paste(figure, (0, 0), mask)
    if mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, fmt, quality=quality)
    else:
        image.save(out, fmt)
    return out.getvalue()


def vignette(edge: int) -> Callable[[int, int], Image.Image]:
    """White in the middle, fading to grey ``edge`` at the sides and top."""
    def draw(w: int, h: int) -> Image.Image:
        radial = Image.radial_gradient("L").resize((w, h))
        return radial.point(lambda v: 255 - (255 - edge) * v // 255).convert("RGB")
    return draw


def vertical(bottom: int) -> Callable[[int, int], Image.Image]:
    """White at the top, fading to grey ``bottom`` at the bottom edge."""
    def draw(w: int, h: int) -> Image.Image:
        linear = Image.linear_gradient("L").resize((w, h))
        return linear.point(lambda v: 255 - (255 - bottom) * v // 255).convert("RGB")
    return draw


def rejected(data: bytes | None, rules: PhotoRules = RULES, age: int | None = 30) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        check_photo(data, rules, applicant_age=age)
    assert isinstance(caught.value, SscardError)
    for problem in caught.value.problems:
        assert problem.message_zh and problem.message_en
    return caught.value


# -- accepted --------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [70, 75, 90])
@pytest.mark.parametrize("background", [
    (255, 255, 255), (240, 240, 240), (228, 228, 228), (250, 245, 232), vertical(200), vignette(225),
], ids=["white", "off-white-240", "off-white-228", "warm-white", "shade-to-200", "vignette-225"])
def test_a_white_background_portrait_is_accepted(background: Background, quality: int) -> None:
    data = portrait(background, quality=quality)
    photo = check_photo(data, RULES, applicant_age=30)
    assert isinstance(photo, Photo)
    assert (photo.width, photo.height, photo.data) == (358, 441, data)
    assert photo.background_white_share >= RULES.white_share
    assert "data" not in repr(photo)


@pytest.mark.parametrize("hair_top", [21, 7, 3])
def test_hair_where_the_rules_put_it_does_not_count_against_the_background(hair_top: int) -> None:
    photo = check_photo(portrait(hair_top=hair_top), RULES, applicant_age=30)
    assert photo is not None


# -- the background --------------------------------------------------------------------------------


@pytest.mark.parametrize("background", [
    (210, 210, 210), (225, 235, 255), (67, 142, 219), (200, 30, 40), vignette(210), vignette(170), vertical(150),
], ids=["grey", "pale-blue", "blue", "red", "vignette-210", "vignette-170", "shade-to-150"])
def test_a_background_that_is_not_white_is_refused(background: Background) -> None:
    error = rejected(portrait(background))
    assert error.codes == (P.BACKGROUND_NOT_WHITE,)
    assert "照片背景须为白色" in error.problems[0].message_zh
    assert "background must be white" in error.problems[0].message_en


def test_a_head_cut_at_the_top_edge_is_refused() -> None:
    assert rejected(portrait(hair_top=-6)).codes == (P.BACKGROUND_NOT_WHITE,)


# -- format, size, colour --------------------------------------------------------------------------


def test_a_png_renamed_to_jpg_is_refused_for_its_real_format() -> None:
    error = rejected(portrait(fmt="PNG"))
    assert P.NOT_JPEG in error.codes
    assert P.BACKGROUND_NOT_WHITE not in error.codes  # it is still measured, and white
    message = next(p for p in error.problems if p.code is P.NOT_JPEG)
    assert "PNG" in message.message_zh and "PNG" in message.message_en


def test_a_palette_image_is_neither_jpeg_nor_24_bit_colour() -> None:
    assert {P.NOT_JPEG, P.NOT_COLOUR} <= set(rejected(portrait(mode="P", fmt="PNG")).codes)


@pytest.mark.parametrize(("mode", "word"), [("L", "灰度"), ("CMYK", "CMYK")])
def test_grayscale_and_cmyk_jpegs_are_refused(mode: str, word: str) -> None:
    error = rejected(portrait(mode=mode, quality=60))
    assert error.codes == (P.NOT_COLOUR,)
    assert word in error.problems[0].message_zh
    assert "24-bit colour" in error.problems[0].message_en


@pytest.mark.parametrize("size", [(400, 500), (441, 358), (357, 441), (358, 442)])
def test_a_photo_of_the_wrong_size_is_refused_with_both_sizes(size: tuple[int, int]) -> None:
    error = rejected(portrait(size=size))
    assert error.codes == (P.WRONG_SIZE,)
    zh, en = error.problems[0].message_zh, error.problems[0].message_en
    assert f"{size[0]} × 高 {size[1]}" in zh and "358 × 高 441" in zh
    assert f"not {size[0]} x {size[1]}" in en and "358 x 441" in en


def test_a_huge_image_is_refused_without_decoding_its_pixels() -> None:
    out = io.BytesIO()
    Image.new("RGB", (3000, 3000), (67, 142, 219)).save(out, "JPEG", quality=10)
    error = rejected(out.getvalue())
    assert P.WRONG_SIZE in error.codes
    assert P.BACKGROUND_NOT_WHITE not in error.codes  # blue, but never decoded


def test_a_decompression_bomb_is_refused_unopened() -> None:
    data = bytearray(portrait())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2  # claims 60000 x 60000 pixels
    assert rejected(bytes(data)).codes == (P.WRONG_SIZE,)


# -- the byte budget -------------------------------------------------------------------------------


def test_a_too_small_file_is_refused() -> None:
    data = portrait(noise=0, quality=40)
    assert len(data) < RULES.min_bytes
    error = rejected(data)
    assert error.codes == (P.TOO_SMALL,)
    assert "9.0 KB" in error.problems[0].message_zh and "50.0 KB" in error.problems[0].message_zh


def test_a_too_large_file_is_refused() -> None:
    data = portrait(noise=60, quality=100)
    assert len(data) > RULES.max_bytes
    error = rejected(data)
    assert error.codes == (P.TOO_LARGE,)
    assert "太大" in error.problems[0].message_zh


def test_the_byte_budget_is_a_setting() -> None:
    data = portrait()
    regional = PhotoRules(min_bytes=14 * 1024, max_bytes=16 * 1024)
    assert not regional.min_bytes <= len(data) <= regional.max_bytes
    assert rejected(data, regional).codes in ((P.TOO_SMALL,), (P.TOO_LARGE,))
    assert check_photo(data, PhotoRules(min_bytes=1024, max_bytes=len(data)), applicant_age=30)


# -- damaged files ---------------------------------------------------------------------------------


def test_a_truncated_jpeg_cannot_be_decoded() -> None:
    data = portrait(noise=40, quality=95)
    assert P.UNDECODABLE in rejected(data[: len(data) // 2]).codes


def test_jpeg_magic_followed_by_garbage_cannot_be_decoded() -> None:
    error = rejected(b"\xff\xd8\xff\xe0" + os.urandom(20 * 1024))
    assert error.codes == (P.UNDECODABLE,)


def test_random_bytes_are_not_a_jpeg() -> None:
    # seeded: random bytes behind a GIF signature can happen to parse as a GIF of some size
    error = rejected(random.Random(7).randbytes(20 * 1024))
    assert error.codes == (P.NOT_JPEG,)


def test_an_empty_file_is_refused() -> None:
    assert rejected(b"", age=3).codes == (P.MISSING,)


def test_bytes_must_be_bytes() -> None:
    with pytest.raises(FieldError):
        check_photo("photo.jpg", RULES, applicant_age=30)  # type: ignore[arg-type]


# -- every problem at once -------------------------------------------------------------------------


def test_every_problem_is_listed_at_once() -> None:
    data = portrait((120, 160, 220), size=(300, 400), mode="L", noise=0, quality=30)
    error = rejected(data)
    assert set(error.codes) == {P.WRONG_SIZE, P.NOT_COLOUR, P.BACKGROUND_NOT_WHITE, P.TOO_SMALL}
    assert len(error.messages("zh")) == len(error.messages("en")) == 4
    assert str(error).startswith("photo: ")


# -- applicants under 7 ----------------------------------------------------------------------------


@pytest.mark.parametrize("age", [0, 5, PHOTO_REQUIRED_FROM_AGE - 1])
def test_applicants_under_7_may_have_no_photo(age: int) -> None:
    assert check_photo(None, RULES, applicant_age=age) is None


@pytest.mark.parametrize("age", [PHOTO_REQUIRED_FROM_AGE, 30, None])
def test_a_missing_photo_is_refused_from_7_or_when_the_age_is_unknown(age: int | None) -> None:
    error = rejected(None, age=age)
    assert error.codes == (P.MISSING,)
    assert "未满7周岁" in error.problems[0].message_zh


def test_a_photo_given_for_a_young_child_is_still_checked() -> None:
    assert rejected(portrait((67, 142, 219)), age=5).codes == (P.BACKGROUND_NOT_WHITE,)


@pytest.mark.parametrize("age", [-1, 6.5, True])
def test_the_age_must_be_completed_years(age: object) -> None:
    with pytest.raises(FieldError) as caught:
        check_photo(None, RULES, applicant_age=age)  # type: ignore[arg-type]
    assert caught.value.field == "applicant_age"


# -- the rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {"min_bytes": 60 * 1024}, {"width": 0}, {"border": -1}, {"white_threshold": 256}, {"max_spread": -1},
    {"white_share": 0}, {"white_share": 1.5}, {"side_extent": 0}, {"height": 441.0},
])
def test_bad_rules_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(FieldError):
        PhotoRules(**settings)  # type: ignore[arg-type]


def test_rejected_needs_a_problem() -> None:
    with pytest.raises(ValueError):
        PhotoRejected([])
