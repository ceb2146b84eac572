"""The applicant photo: 358 x 441 colour JPEG on a white background, checked on the image itself.

:func:`check_photo` returns a :class:`Photo` or raises :class:`PhotoRejected` listing every problem
found, each with a message in simplified Chinese and in English that an applicant understands.
Spec card.md §7 and the application page: "一寸电子版白底免冠彩色证件照片", 358 x 441 pixels,
24-bit colour JPEG, a regional byte budget (9-50 KB is common), none needed under 7.

The background is measured, not assumed: three strips along the top and both sides (down to
``side_extent`` of the height; the shoulders reach the sides below that) must each be mostly
near-white pixels: every channel at least ``white_threshold`` and the channels within
``max_spread`` of each other (white, not a pale tint). The strips are 8 px thick because the
national photo rules (社会保障卡制证用数字相片技术要求, after GA 461) put the hair 7-21 px below
the top edge and the face 179-255 px wide, centred. Defaults tuned on synthetic portraits at JPEG
quality 75 and 95 (tests/unit/test_photo.py builds the same ones):

=====================================================  ===================
background                                             lowest strip share
=====================================================  ===================
white, off-white 240 or 228, warm white (250,245,232)  100%
white to grey 200 from top to bottom                   100%
radial vignette white to 225 at the edges              100%
hair 7 px / 3 px / 0 px below the top edge (white)     99% / 93% / 85%
radial vignette white to 210 at the edges              54%
white to grey 150 from top to bottom                   56%
grey 210, pale blue (225,235,255), blue, red            0%
=====================================================  ===================

So a share of 90% passes every white background with the head where the rules put it and refuses
grey, tinted and shadowed ones. Known limit: a photo whose hair was cut at the top edge (the rules
allow it "in special cases") fails the top strip and must be retaken or overridden by an operator.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from enum import Enum

from PIL import Image, ImageChops, UnidentifiedImageError

from sscard_issuer.errors import FieldError, SscardError

__all__ = [
    "PHOTO_REQUIRED_FROM_AGE",
    "Photo",
    "PhotoProblem",
    "PhotoProblemCode",
    "PhotoRejected",
    "PhotoRules",
    "check_photo",
]

#: Applicants younger than this may apply without a photo (未满7周岁可不提供电子照片).
PHOTO_REQUIRED_FROM_AGE = 7

# Decoding an image many times the expected size is refused before its pixels are read.
_MAX_PIXEL_FACTOR = 4


@dataclass(frozen=True)
class PhotoRules:
    """The photo settings; defaults are the national size and a common regional byte budget."""

    width: int = 358
    height: int = 441
    min_bytes: int = 9 * 1024
    max_bytes: int = 50 * 1024
    white_threshold: int = 220  # every channel at least this to count as near-white
    max_spread: int = 20  # max - min over R, G, B: higher is a tint, not white
    white_share: float = 0.9  # share of near-white pixels each strip needs
    border: int = 8  # strip thickness in pixels: the hair may start 7 px below the top edge
    side_extent: float = 0.6  # side strips run from the top down to this share of the height

    def __post_init__(self) -> None:
        for name in ("width", "height", "min_bytes", "max_bytes", "border"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise FieldError(name, "a positive whole number", value)
        if self.min_bytes > self.max_bytes:
            raise FieldError("min_bytes", f"at most max_bytes ({self.max_bytes})", self.min_bytes)
        for name in ("white_threshold", "max_spread"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
                raise FieldError(name, "a whole number 0-255", value)
        for name in ("white_share", "side_extent"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
                raise FieldError(name, "a share above 0 and at most 1", value)


class PhotoProblemCode(Enum):
    MISSING = "missing"
    NOT_JPEG = "not_jpeg"
    UNDECODABLE = "undecodable"
    WRONG_SIZE = "wrong_size"
    NOT_COLOUR = "not_colour"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    BACKGROUND_NOT_WHITE = "background_not_white"


@dataclass(frozen=True)
class PhotoProblem:
    code: PhotoProblemCode
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh


class PhotoRejected(SscardError):
    """The photo cannot be used; :attr:`problems` lists every reason found."""

    def __init__(self, problems: list[PhotoProblem]) -> None:
        if not problems:
            raise ValueError("PhotoRejected needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("photo: " + "; ".join(p.message_en for p in self.problems))

    @property
    def codes(self) -> tuple[PhotoProblemCode, ...]:
        return tuple(p.code for p in self.problems)

    def messages(self, lang: str = "zh") -> list[str]:
        return [p.message(lang) for p in self.problems]


@dataclass(frozen=True)
class Photo:
    """An accepted photo: its bytes as given, its size, and the measured background share."""

    data: bytes = field(repr=False)
    width: int
    height: int
    background_white_share: float  # the lowest near-white share of the three border strips


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


_MODE_NAMES = {"L": ("灰度（黑白）", "grayscale"), "1": ("黑白", "black and white"),
               "CMYK": ("CMYK 印刷色", "CMYK"), "P": ("调色板（索引色）", "palette"),
               "RGBA": ("带透明通道", "RGB with transparency"), "LA": ("带透明通道的灰度", "grayscale with transparency")}

_MISSING_REASON = (f"请提供本人白底免冠彩色证件照片（未满{PHOTO_REQUIRED_FROM_AGE}周岁可不提供）",
                   f"a photo is required (only applicants under {PHOTO_REQUIRED_FROM_AGE} may apply without one)")


def _problem(code: PhotoProblemCode, zh: str, en: str) -> PhotoProblem:
    return PhotoProblem(code, zh, en)


def _byte_problems(size: int, rules: PhotoRules) -> list[PhotoProblem]:
    budget_zh = f"须在 {_kb(rules.min_bytes)} 至 {_kb(rules.max_bytes)} 之间"
    budget_en = f"it must be between {_kb(rules.min_bytes)} and {_kb(rules.max_bytes)}"
    if size < rules.min_bytes:
        return [_problem(PhotoProblemCode.TOO_SMALL,
                         f"照片文件太小（{_kb(size)}），{budget_zh}，请提供更清晰的照片",
                         f"the photo file is too small ({_kb(size)}); {budget_en}: use a clearer photo")]
    if size > rules.max_bytes:
        return [_problem(PhotoProblemCode.TOO_LARGE,
                         f"照片文件太大（{_kb(size)}），{budget_zh}，请压缩后重新提供",
                         f"the photo file is too large ({_kb(size)}); {budget_en}: save it smaller")]
    return []


def _white_share(region: Image.Image, rules: PhotoRules) -> float:
    """Share of pixels whose channels are all >= threshold and within ``max_spread`` of each other."""
    red, green, blue = region.split()
    low = ImageChops.darker(ImageChops.darker(red, green), blue)
    high = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    bright = low.point(lambda v: 255 if v >= rules.white_threshold else 0)
    plain = ImageChops.subtract(high, low).point(lambda v: 255 if v <= rules.max_spread else 0)
    white = ImageChops.darker(bright, plain)
    return white.histogram()[255] / (region.width * region.height)


def _background_share(image: Image.Image, rules: PhotoRules) -> float:
    """The lowest near-white share among the top strip and the two side strips."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    border = max(1, min(rules.border, width // 4, height // 4))
    bottom = max(border + 1, int(height * rules.side_extent))
    strips = [(0, 0, width, border), (0, border, border, bottom), (width - border, border, width, bottom)]
    return min(_white_share(rgb.crop(box), rules) for box in strips)


def _image_problems(data: bytes, rules: PhotoRules) -> tuple[list[PhotoProblem], float | None]:
    problems: list[PhotoProblem] = []
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        return [_problem(PhotoProblemCode.WRONG_SIZE,
                         f"照片尺寸须为宽 {rules.width} × 高 {rules.height} 像素，当前照片大得无法打开",
                         f"the photo must be {rules.width} x {rules.height} pixels; this one is too big to open")], None
    except (UnidentifiedImageError, OSError, ValueError):
        if data[:3] == b"\xff\xd8\xff":
            return [_problem(PhotoProblemCode.UNDECODABLE, "照片文件已损坏，无法打开，请重新提供",
                             "the photo file is damaged and cannot be opened; provide it again")], None
        return [_problem(PhotoProblemCode.NOT_JPEG, "照片须为 JPEG 格式（.jpg）",
                         "the photo must be a JPEG file (.jpg)")], None
    with image:
        if image.format != "JPEG":
            problems.append(_problem(PhotoProblemCode.NOT_JPEG,
                                     f"照片须为 JPEG 格式（.jpg），当前文件为 {image.format} 格式",
                                     f"the photo must be a JPEG file (.jpg), not {image.format}"))
        width, height = image.size
        if (width, height) != (rules.width, rules.height):
            problems.append(_problem(
                PhotoProblemCode.WRONG_SIZE,
                f"照片尺寸须为宽 {rules.width} × 高 {rules.height} 像素，当前为宽 {width} × 高 {height} 像素",
                f"the photo must be {rules.width} x {rules.height} pixels (width x height), not {width} x {height}"))
        if image.mode != "RGB":
            zh, en = _MODE_NAMES.get(image.mode, (image.mode, image.mode))
            problems.append(_problem(PhotoProblemCode.NOT_COLOUR,
                                     f"照片须为24位彩色（RGB）照片，当前为{zh}",
                                     f"the photo must be 24-bit colour (RGB), not {en}"))
        if width * height > _MAX_PIXEL_FACTOR * rules.width * rules.height:
            return problems, None  # far too big to decode safely; the size problem says why
        try:
            image.load()
        except (OSError, ValueError, SyntaxError):
            problems.append(_problem(PhotoProblemCode.UNDECODABLE, "照片文件已损坏，无法完整打开，请重新提供",
                                     "the photo file is damaged and cannot be read in full; provide it again"))
            return problems, None
        share = _background_share(image, rules)
    if share < rules.white_share:
        problems.append(_problem(
            PhotoProblemCode.BACKGROUND_NOT_WHITE,
            f"照片背景须为白色（照片边缘接近白色的部分只有 {share:.0%}，至少需要 {rules.white_share:.0%}）",
            f"the photo background must be white (only {share:.0%} of the edge is near-white; "
            f"{rules.white_share:.0%} needed)"))
    return problems, share


def check_photo(data: bytes | None, rules: PhotoRules, *, applicant_age: int | None) -> Photo | None:
    """Check ``data`` against ``rules``; ``None`` is accepted (and returned) under 7 only.

    ``applicant_age`` is the completed years on the application date; ``None`` means unknown, so a
    missing photo is refused and a given one checked as for anyone.
    """
    if not isinstance(rules, PhotoRules):
        raise FieldError("rules", "PhotoRules", type(rules).__name__)
    if applicant_age is not None and (
        not isinstance(applicant_age, int) or isinstance(applicant_age, bool) or applicant_age < 0
    ):
        raise FieldError("applicant_age", "completed years, a whole number from 0", applicant_age)
    if data is None:
        if applicant_age is not None and applicant_age < PHOTO_REQUIRED_FROM_AGE:
            return None
        raise PhotoRejected([_problem(PhotoProblemCode.MISSING, *_MISSING_REASON)])
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FieldError("photo", "the photo file's bytes", type(data).__name__)
    data = bytes(data)
    if not data:
        raise PhotoRejected([_problem(PhotoProblemCode.MISSING, "照片文件是空的，请重新提供",
                                      "the photo file is empty; provide it again")])
    problems = _byte_problems(len(data), rules)
    image_problems, share = _image_problems(data, rules)
    problems = image_problems + problems
    if problems or share is None:
        raise PhotoRejected(problems)
    return Photo(data, rules.width, rules.height, share)
