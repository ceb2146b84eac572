"""A card face image to the five panels of a YMCKO ribbon, and back (for the simulator's prints).

The host draws the face landscape at the Evolis canvas, 1016 x 648 dots; the printer takes each
panel portrait, 648 dots a line and 1016 lines, so the image is turned a quarter turn
counter-clockwise: the face's top edge becomes the panel's first dots of every line, and its left
edge the panel's last line.

- Transparent areas are flattened onto white: the printer would print them black.
- Y, M, C: one byte per dot, the ink density (255 - blue, 255 - green, 255 - red).
- K: one bit per dot (81 bytes a line), set where the face is near-black (every channel below
  ``black_level``); the colour panels are left blank there, so text and lines print in pure resin
  black, sharp, with no colour fringes from panel registration.
- O: one bit per dot, the protective overlay everywhere except the chip's contacts (varnish on
  the contacts would insulate them).

Pure Pillow (split, point, composite, tobytes): about 30 ms a face.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops

from sscard_issuer.errors import FieldError
from sscard_issuer.outlet.evolis import PANEL_HEIGHT, PANEL_WIDTH, Panel
from sscard_issuer.outlet.geometry import chip_area, flatten

CANVAS = (PANEL_HEIGHT, PANEL_WIDTH)  # the landscape face: 1016 x 648
BLACK_LEVEL = 48
CHIP_AREA = chip_area(CANVAS)  # nothing printed, not even the overlay, over the chip

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Panels:
    """One side's panels, as the printer takes them (see :class:`~sscard_issuer.outlet.evolis.Panel`)."""

    yellow: bytes
    magenta: bytes
    cyan: bytes
    black: bytes
    overlay: bytes

    def __post_init__(self) -> None:
        for panel, data in self.by_panel().items():
            if len(data) != panel.data_length:
                raise FieldError(f"panel {panel.value}", f"{panel.data_length} bytes", f"{len(data)} bytes")

    def by_panel(self) -> dict[Panel, bytes]:
        return {
            Panel.YELLOW: self.yellow,
            Panel.MAGENTA: self.magenta,
            Panel.CYAN: self.cyan,
            Panel.BLACK: self.black,
            Panel.OVERLAY: self.overlay,
        }

    @classmethod
    def from_panels(cls, panels: dict[Panel, bytes]) -> Panels:
        return cls(
            panels[Panel.YELLOW], panels[Panel.MAGENTA], panels[Panel.CYAN], panels[Panel.BLACK], panels[Panel.OVERLAY]
        )


def _bits(mask: Image.Image) -> bytes:
    """An 'L' mask (255 = print) as 1 bit per dot, most significant bit first, 81 bytes a line."""
    return mask.convert("1", dither=Image.Dither.NONE).tobytes()


def encode_panels(
    face: Image.Image, *, chip_area: Box | None = CHIP_AREA, black_level: int = BLACK_LEVEL
) -> Panels:
    """The five panels printing ``face`` (landscape, 1016 x 648, any mode).

    ``chip_area``: landscape box left without overlay (None: overlay the whole card).
    """
    if face.size != CANVAS:
        raise FieldError("face", f"an image of {CANVAS[0]} x {CANVAS[1]} pixels", f"{face.size[0]} x {face.size[1]}")
    rgb = flatten(face)
    red, green, blue = rgb.split()

    def below(channel: Image.Image) -> Image.Image:
        return channel.point(lambda v: 255 if v < black_level else 0)

    black = ImageChops.darker(ImageChops.darker(below(red), below(green)), below(blue))  # 255 where all dark
    blank = Image.new("L", CANVAS, 0)
    yellow, magenta, cyan = (
        Image.composite(blank, ImageChops.invert(channel), black) for channel in (blue, green, red)
    )
    overlay = Image.new("L", CANVAS, 255)
    if chip_area is not None:
        overlay.paste(0, chip_area)

    def turn(img: Image.Image) -> Image.Image:
        return img.transpose(Image.Transpose.ROTATE_90)

    return Panels(
        yellow=turn(yellow).tobytes(),
        magenta=turn(magenta).tobytes(),
        cyan=turn(cyan).tobytes(),
        black=_bits(turn(black)),
        overlay=_bits(turn(overlay)),
    )


def _panel_image(panel: Panel, data: bytes) -> Image.Image:
    """One panel as an 'L' image, portrait (648 x 1016); 1-bit panels as 0 / 255."""
    size = (PANEL_WIDTH, PANEL_HEIGHT)
    if panel.levels == 2:
        return Image.frombytes("1", size, data).convert("L")
    return Image.frombytes("L", size, data)


def decode_panels(panels: Panels) -> Image.Image:
    """What the panels print, as an RGB landscape image (the overlay is clear: not shown)."""
    images = {p: _panel_image(p, d).transpose(Image.Transpose.ROTATE_270) for p, d in panels.by_panel().items()}
    red, green, blue = (ImageChops.invert(images[p]) for p in (Panel.CYAN, Panel.MAGENTA, Panel.YELLOW))
    colour = Image.merge("RGB", (red, green, blue))
    return Image.composite(Image.new("RGB", CANVAS, (0, 0, 0)), colour, images[Panel.BLACK])


def overlay_mask(panels: Panels) -> Image.Image:
    """Where the overlay goes, landscape: 255 varnished, 0 left bare."""
    return _panel_image(Panel.OVERLAY, panels.overlay).transpose(Image.Transpose.ROTATE_270)
