"""A tiny pure-Python PNG writer: an RGB canvas, filled rectangles and a 5x7 bitmap font.

Enough to draw a readable bar chart with no imaging dependency: pixels live in a
``bytearray``, the file is zlib-compressed scanlines in standard PNG chunks (IHDR, IDAT,
IEND), each with its CRC-32.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GLYPH_HEIGHT", "GLYPH_WIDTH", "PNG_SIGNATURE", "Canvas", "Color", "encode_png"]

Color = tuple[int, int, int]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7

# 5x7 glyphs: seven rows of five bits (most significant bit = leftmost pixel), as hex bytes.
# Lower-case letters are drawn as capitals; anything unknown is drawn as '?'.
_FONT_HEX = {
    "0": "0E11131519110E", "1": "040C040404040E", "2": "0E11010204081F", "3": "1F02040201110E",
    "4": "02060A121F0202", "5": "1F101E0101110E", "6": "0608101E11110E", "7": "1F010204080808",
    "8": "0E11110E11110E", "9": "0E11110F01020C", "A": "0E11111F111111", "B": "1E11111E11111E",
    "C": "0E11101010110E", "D": "1C12111111121C", "E": "1F10101E10101F", "F": "1F10101E101010",
    "G": "0E11101711110F", "H": "1111111F111111", "I": "0E04040404040E", "J": "0702020202120C",
    "K": "11121418141211", "L": "1010101010101F", "M": "111B1515111111", "N": "11111915131111",
    "O": "0E11111111110E", "P": "1E11111E101010", "Q": "0E11111115120D", "R": "1E11111E141211",
    "S": "0F10100E01011E", "T": "1F040404040404", "U": "1111111111110E", "V": "11111111110A04",
    "W": "1111111515150A", "X": "11110A040A1111", "Y": "1111110A040404", "Z": "1F01020408101F",
    " ": "00000000000000", "!": "04040404040004", "$": "040F140E051E04", "%": "18190204081303",
    "(": "02040808080402", ")": "08040202020408", "+": "0004041F040400", ",": "000000000C0408",
    "-": "0000001F000000", ".": "00000000000C0C", "/": "00010204081000", ":": "000C0C000C0C00",
    "<": "02040810080402", "=": "00001F001F0000", ">": "08040201020408", "?": "0E110102040004",
    "'": "0C040800000000", "#": "0A0A1F0A1F0A0A", "_": "0000000000001F", "*": "0004150E150400",
    "&": "0C12140815120D", "|": "04040404040404", "@": "0E11010D15150E",
}  # fmt: skip
_FONT: dict[str, tuple[int, ...]] = {char: tuple(bytes.fromhex(hexes)) for char, hexes in _FONT_HEX.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, rgb: bytes | bytearray) -> bytes:
    """PNG bytes of an 8-bit RGB image given as ``width * height * 3`` bytes, row by row."""
    if width <= 0 or height <= 0 or len(rgb) != width * height * 3:
        raise ValueError("rgb must hold width * height * 3 bytes")
    stride = width * 3
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type 0 (None) for every scanline
        raw += rgb[y * stride : (y + 1) * stride]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _chunk(b"IEND", b"")
    )


@dataclass
class Canvas:
    """An RGB image to draw on; (0, 0) is the top-left pixel."""

    width: int
    height: int
    background: Color = (255, 255, 255)
    pixels: bytearray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError("a canvas needs a positive width and height")
        self.pixels = bytearray(bytes(self.background) * (self.width * self.height))

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        """Fill a rectangle, clipped to the canvas."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        row = bytes(color) * (x1 - x0)
        for yy in range(y0, y1):
            start = (yy * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def pixel(self, x: int, y: int) -> Color:
        at = (y * self.width + x) * 3
        return self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]

    @staticmethod
    def text_width(text: str, scale: int = 1) -> int:
        """Width in pixels of a line of text (glyphs plus one pixel of spacing, per scale)."""
        return max(0, len(text) * (GLYPH_WIDTH + 1) * scale - scale)

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 1) -> None:
        """Draw one line of text with its top-left corner at (x, y)."""
        for i, char in enumerate(text):
            glyph = _FONT.get(char.upper(), _FONT["?"])
            left = x + i * (GLYPH_WIDTH + 1) * scale
            for row, bits in enumerate(glyph):
                for col in range(GLYPH_WIDTH):
                    if bits & (0x10 >> col):
                        self.rect(left + col * scale, y + row * scale, scale, scale, color)

    def text_centered(self, cx: int, y: int, text: str, color: Color, scale: int = 1) -> None:
        self.text(cx - self.text_width(text, scale) // 2, y, text, color, scale)

    def to_png(self) -> bytes:
        return encode_png(self.width, self.height, self.pixels)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_png())
