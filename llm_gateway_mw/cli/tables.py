"""Aligned plain-text tables and number formats for the commands' reports."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["money", "table", "tokens"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "  ") -> str:
    """Columns padded to their widest cell; numbers (cells starting with a digit or $) align right."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_numeric(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(parts)).rstrip())
    return "\n".join(lines)


def _numeric(cell: str) -> bool:
    text = cell.lstrip("$-+")
    return bool(text) and (text[0].isdigit() or cell in ("-", ""))


def money(usd: float) -> str:
    """USD with enough digits to tell small LLM costs apart."""
    if usd == 0:
        return "$0"
    if abs(usd) >= 100:
        return f"${usd:,.2f}"
    if abs(usd) >= 0.01:
        return f"${usd:.4f}"
    return f"${usd:.6f}"


def tokens(count: int) -> str:
    return f"{count:,}"
