"""A face image to YMCKO panels and back: sizes, rotation, flattening, the black and overlay rules."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from sscard_issuer.errors import FieldError
from sscard_issuer.outlet.evolis import MONO_LINE_BYTES, PANEL_HEIGHT, PANEL_WIDTH
from sscard_issuer.outlet.panels import CANVAS, CHIP_AREA, Panels, decode_panels, encode_panels, overlay_mask


def sample_face() -> Image.Image:
    """A colour gradient with a photo-like block, black text and a line."""
    face = Image.new("RGB", CANVAS)
    px = face.load()
    assert px is not None
    for x in range(0, CANVAS[0], 4):
        for y in range(0, CANVAS[1], 4):
            colour = (x * 255 // CANVAS[0], y * 255 // CANVAS[1], 128)
            for dx in range(4):
                for dy in range(4):
                    px[x + dx, y + dy] = colour
    draw = ImageDraw.Draw(face)
    draw.rectangle((700, 100, 950, 400), fill=(90, 140, 200))
    draw.text((120, 500), "SOCIAL SECURITY 450100", fill=(0, 0, 0))
    draw.line((100, 600, 900, 600), fill=(10, 10, 10), width=3)
    return face


def mean_abs_error(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_panel_sizes() -> None:
    panels = encode_panels(sample_face())
    assert len(panels.yellow) == len(panels.magenta) == len(panels.cyan) == PANEL_WIDTH * PANEL_HEIGHT
    assert len(panels.black) == len(panels.overlay) == MONO_LINE_BYTES * PANEL_HEIGHT == 81 * 1016


def test_round_trip_within_tolerance() -> None:
    face = sample_face()
    back = decode_panels(encode_panels(face))
    assert back.size == CANVAS and back.mode == "RGB"
    assert mean_abs_error(face, back) < 1.0
    # near-black becomes pure black (K), everything else comes back exactly
    assert back.getpixel((500, 600)) == (0, 0, 0)
    assert back.getpixel((800, 200)) == (90, 140, 200)


def test_colour_panels_are_ink_densities() -> None:
    face = Image.new("RGB", CANVAS, (255, 255, 255))
    face.paste((0, 255, 255), (0, 0, 10, 10))  # cyan ink only
    panels = encode_panels(face)
    assert set(panels.yellow) == {0} and set(panels.magenta) == {0}
    assert max(panels.cyan) == 255 and panels.cyan.count(255) == 100


def test_quarter_turn() -> None:
    """The face's top-left corner lands at the panel's last line, first dot."""
    face = Image.new("RGB", CANVAS, (255, 255, 255))
    face.putpixel((0, 0), (255, 255, 0))  # pure yellow: a yellow dot only
    panels = encode_panels(face)
    assert panels.yellow.index(255) == (PANEL_HEIGHT - 1) * PANEL_WIDTH
    face = Image.new("RGB", CANVAS, (255, 255, 255))
    face.putpixel((CANVAS[0] - 1, 0), (255, 255, 0))  # top-right: first line, first dot
    assert encode_panels(face).yellow.index(255) == 0


def test_black_rule_sets_k_and_clears_colour() -> None:
    face = Image.new("RGB", CANVAS, (255, 255, 255))
    face.paste((20, 20, 20), (0, 0, CANVAS[0], 8))  # the top 8 rows: near black
    face.paste((60, 60, 60), (0, 8, CANVAS[0], 16))  # dark grey: colour, not K
    panels = encode_panels(face)
    # after the turn the face's top 8 rows are each line's first 8 dots: one byte per line
    assert panels.black[:MONO_LINE_BYTES] == b"\xff" + bytes(MONO_LINE_BYTES - 1)
    assert panels.black.count(b"\xff") == PANEL_HEIGHT and panels.black.count(0) == len(panels.black) - PANEL_HEIGHT
    assert panels.cyan[:8] == bytes(8)  # no colour under K
    assert panels.cyan[8:16] == bytes([195] * 8)


def test_transparency_is_flattened_onto_white() -> None:
    face = Image.new("RGBA", CANVAS, (0, 0, 0, 0))  # fully transparent black
    face.paste((200, 0, 0, 255), (100, 100, 200, 200))
    face.paste((0, 0, 255, 128), (300, 100, 400, 200))  # half-transparent blue over white
    panels = encode_panels(face)
    assert set(panels.black) == {0}  # transparent black is not printed black
    back = decode_panels(panels)
    assert back.getpixel((10, 10)) == (255, 255, 255)
    assert back.getpixel((150, 150)) == (200, 0, 0)
    r, g, b = back.getpixel((350, 150))  # type: ignore[misc]
    assert b == 255 and 120 <= r <= 135 and r == g


def test_palette_and_grey_images_are_accepted() -> None:
    grey = Image.new("L", CANVAS, 128)
    assert decode_panels(encode_panels(grey)).getpixel((5, 5)) == (128, 128, 128)
    assert decode_panels(encode_panels(grey.convert("P"))).getpixel((5, 5)) == (128, 128, 128)


def test_overlay_everywhere_but_the_chip() -> None:
    mask = overlay_mask(encode_panels(sample_face()))
    left, top, right, bottom = CHIP_AREA
    assert mask.getpixel((left + 10, top + 10)) == 0
    assert mask.getpixel((right - 1, bottom - 1)) == 0
    assert mask.getpixel((right + 1, top + 10)) == 255
    assert mask.getpixel((900, 600)) == 255
    bare = (right - left) * (bottom - top)
    assert ImageStat.Stat(mask).sum[0] == 255 * (CANVAS[0] * CANVAS[1] - bare)
    full = encode_panels(sample_face(), chip_area=None)
    assert set(full.overlay) == {0xFF}


def test_wrong_size_is_refused() -> None:
    with pytest.raises(FieldError, match="1016 x 648"):
        encode_panels(Image.new("RGB", (1011, 638)))


def test_panels_check_their_sizes() -> None:
    panels = encode_panels(sample_face())
    with pytest.raises(FieldError, match="panel k"):
        Panels(panels.yellow, panels.magenta, panels.cyan, b"\0", panels.overlay)
    assert Panels.from_panels(panels.by_panel()) == panels
