"""The card's geometry on a printer's canvas, in one place: the ID-1 size, the chip's keep-out area,
and how an image with transparency becomes what a printer prints (flattened onto white)."""

from __future__ import annotations

import math

from PIL import Image

from sscard_issuer.errors import FieldError

CARD_MM = (85.60, 53.98)  # ISO/IEC 7810 ID-1
# ISO/IEC 7816-2: the contacts C1-C8 span these millimetres from the card's left and top edges
ISO_7816_CONTACTS_MM = (10.25, 19.23, 19.87, 28.55)
CHIP_MARGIN_MM = 2.0  # nothing printed (ink or overlay) this close to the contacts
WHITE = (255, 255, 255)


def chip_area(canvas: tuple[int, int]) -> tuple[int, int, int, int]:
    """The chip keep-out on a landscape ``canvas`` as (left, top, right, bottom) pixels, right/bottom
    exclusive: the contact area grown by ``CHIP_MARGIN_MM`` and rounded outwards."""
    width, height = canvas
    if isinstance(width, bool) or isinstance(height, bool) or width < 100 or height < 60:
        raise FieldError("canvas", "(width, height) in pixels, at least 100 × 60", canvas)
    x, y = width / CARD_MM[0], height / CARD_MM[1]
    left, top, right, bottom = ISO_7816_CONTACTS_MM
    m = CHIP_MARGIN_MM
    return (math.floor((left - m) * x), math.floor((top - m) * y),
            math.ceil((right + m) * x), math.ceil((bottom + m) * y))


def flatten(image: Image.Image) -> Image.Image:
    """``image`` as RGB, transparency flattened onto white: printers print transparency black (outlet.md §2)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")
