"""The pure-Python PNG writer and bar chart: valid files that decode to what was drawn."""

from __future__ import annotations

import pytest

from llm_gateway_mw.cli.chart import BarGroup, Series, bar_chart, nice_ceiling
from llm_gateway_mw.cli.png import _FONT, GLYPH_HEIGHT, PNG_SIGNATURE, Canvas, encode_png
from tests.cli.pngread import read_png

RED = (200, 30, 30)


def test_encode_round_trips_pixels() -> None:
    rgb = bytes((x * 7 + y * 13) % 256 for y in range(5) for x in range(3 * 4))
    data = encode_png(4, 5, rgb)
    assert data.startswith(PNG_SIGNATURE)
    image = read_png(data)
    assert (image.width, image.height) == (4, 5)
    assert image.rgb == rgb
    assert image.chunks == [b"IHDR", b"IDAT", b"IEND"]


def test_encode_rejects_wrong_sizes() -> None:
    with pytest.raises(ValueError):
        encode_png(2, 2, b"\x00" * 11)
    with pytest.raises(ValueError):
        Canvas(0, 10)


def test_canvas_rect_is_clipped_and_text_draws() -> None:
    canvas = Canvas(40, 20)
    canvas.rect(-5, -5, 10, 10, RED)  # partly off the canvas
    assert canvas.pixel(0, 0) == RED and canvas.pixel(4, 4) == RED and canvas.pixel(5, 5) == (255, 255, 255)
    canvas.text(10, 2, "Ab1", (0, 0, 0), scale=2)
    image = read_png(canvas.to_png())
    dark = image.count((0, 0, 0))
    assert dark > 40 and dark % 4 == 0  # whole 2x2 blocks
    assert Canvas.text_width("Ab1", 2) == 3 * 12 - 2


def test_font_glyphs_are_five_by_seven() -> None:
    assert set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$%.,:-/()") <= set(_FONT)
    for char, rows in _FONT.items():
        assert len(rows) == GLYPH_HEIGHT and all(row < 32 for row in rows), char
    assert _FONT[" "] == (0,) * GLYPH_HEIGHT
    assert len({rows for rows in _FONT.values()}) == len(_FONT)  # no two glyphs alike


def test_unknown_characters_draw_a_question_mark() -> None:
    a, b = Canvas(10, 10), Canvas(10, 10)
    a.text(0, 0, "€", (0, 0, 0))
    b.text(0, 0, "?", (0, 0, 0))
    assert a.pixels == b.pixels


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0.274, 0.5), (0.3, 0.5), (0.18, 0.2), (7, 10), (2.2, 2.5), (0, 1.0), (100, 100)]
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_bar_chart_draws_bars_in_series_colors() -> None:
    blue, grey = (37, 99, 235), (156, 163, 175)
    canvas = bar_chart(
        "cost",
        [BarGroup("a\n3 requests", (1.0, 4.0)), BarGroup("b", (2.0, 2.0))],
        [Series("one", blue), Series("two", grey)],
        width=400,
        height=300,
    )
    image = read_png(canvas.to_png())
    assert (image.width, image.height) == (400, 300)
    assert image.count(grey) > image.count(blue) > 500  # grey bars are taller in total


def test_bar_chart_validates_input() -> None:
    with pytest.raises(ValueError):
        bar_chart("x", [], [Series("s", RED)])
    with pytest.raises(ValueError):
        bar_chart("x", [BarGroup("g", (1.0, 2.0))], [Series("s", RED)])
