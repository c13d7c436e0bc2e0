"""A grouped bar chart drawn on the PNG canvas: bars, axis, gridlines, labels and a legend."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .png import GLYPH_HEIGHT, Canvas, Color

__all__ = ["BarGroup", "Series", "bar_chart", "nice_ceiling"]

_INK: Color = (33, 37, 41)
_MUTED: Color = (108, 117, 125)
_GRID: Color = (222, 226, 230)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: Color


@dataclass(frozen=True, slots=True)
class BarGroup:
    """One group of bars: a label (lines separated by newlines) and one value per series."""

    label: str
    values: tuple[float, ...]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= ``value`` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def bar_chart(
    title: str,
    groups: Sequence[BarGroup],
    series: Sequence[Series],
    *,
    value_label: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 960,
    height: int = 540,
) -> Canvas:
    """Draw a grouped bar chart; each group holds one bar per series."""
    if not groups or not series:
        raise ValueError("a chart needs at least one group and one series")
    if any(len(g.values) != len(series) for g in groups):
        raise ValueError("every group needs one value per series")
    canvas = Canvas(width, height)
    scale = 2
    line = (GLYPH_HEIGHT + 3) * scale
    canvas.text(24, 18, title, _INK, scale)
    # Legend under the title.
    x = 24
    for item in series:
        canvas.rect(x, 18 + line + 2, 14, 14, item.color)
        canvas.text(x + 20, 18 + line + 2, item.name, _INK, scale)
        x += 20 + canvas.text_width(item.name, scale) + 32
    label_lines = max(len(g.label.split("\n")) for g in groups)
    top = 18 + 2 * line + 28
    bottom = height - 16 - label_lines * line
    top_value = nice_ceiling(max(max(g.values) for g in groups) * 1.1)
    ticks = [top_value * i / 5 for i in range(6)]
    left = 24 + max(canvas.text_width(value_label(t), scale) for t in ticks) + 12
    right = width - 24
    plot_h = bottom - top

    def y_of(value: float) -> int:
        return bottom - round(plot_h * (value / top_value))

    for tick in ticks:
        y = y_of(tick)
        canvas.rect(left, y, right - left, 1, _GRID)
        text = value_label(tick)
        canvas.text(
            left - 10 - canvas.text_width(text, scale), y - GLYPH_HEIGHT * scale // 2, text, _MUTED, scale
        )
    canvas.rect(left, top, 2, plot_h + 1, _INK)  # y axis
    canvas.rect(left, bottom, right - left, 2, _INK)  # x axis
    group_w = (right - left) / len(groups)
    bar_w = max(4, int(group_w * 0.72 / len(series)))
    for gi, group in enumerate(groups):
        center = left + group_w * (gi + 0.5)
        start = round(center - bar_w * len(series) / 2)
        for si, value in enumerate(group.values):
            bx = start + si * bar_w
            y = y_of(max(0.0, value))
            canvas.rect(bx + 2, y, bar_w - 4, bottom - y, series[si].color)
            text = value_label(value)
            label_scale = scale if canvas.text_width(text, scale) <= bar_w else 1
            canvas.text_centered(
                bx + bar_w // 2, y - (GLYPH_HEIGHT + 3) * label_scale, text, _INK, label_scale
            )
        for li, text in enumerate(group.label.split("\n")):
            color = _INK if li == 0 else _MUTED
            canvas.text_centered(round(center), bottom + 12 + li * line, text, color, scale)
    return canvas
