"""Server-sent events: an incremental parser and an encoder, shared by both dialects.

The parser runs once per upstream chunk on the streaming hot path, so it works on whole
byte strings (``find``/``split``/``replace``) and never loops over single bytes. Field
handling follows the WHATWG event-stream rules the SDKs' own decoders follow: ``\\n``,
``\\r\\n`` and ``\\r`` all end a line, a blank line ends an event, ``:`` lines are comments,
several ``data:`` lines join with ``\\n``, and an event without data is not dispatched.

The second half serves the relay's same-dialect fast path, which forwards a chunk as it came unless
it may carry something an observer needs: ``classify`` decides that with a few substring searches,
and ``ChunkTemplate`` recognises a stream's plain content chunks with a few comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLEAN",
    "CLEAN_DATA_LINE",
    "MUST_PARSE",
    "ChunkTemplate",
    "PassthroughMarkers",
    "SSEEvent",
    "SSEParser",
    "classify",
    "encode_event",
    "parse_complete",
]


@dataclass(slots=True)
class SSEEvent:
    """One server-sent event: its ``data`` (lines joined with ``\\n``) and optional ``event`` name."""

    data: str
    event: str | None = None


class SSEParser:
    """Turns a byte stream, cut anywhere, into complete :class:`SSEEvent` objects."""

    __slots__ = ("_buffer", "_pending_cr")

    def __init__(self) -> None:
        self._buffer = b""
        # A chunk that ends in "\r" may be half of "\r\n": keep it back until the next chunk.
        self._pending_cr = False

    @property
    def idle(self) -> bool:
        """True between events: no partial event or half line ending is held back."""
        return not self._buffer and not self._pending_cr

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add ``chunk``; return the events it completed (possibly none)."""
        return parse_complete(self.take_complete(chunk))

    def take_complete(self, chunk: bytes) -> bytes:
        """Add ``chunk``; return, unparsed, the bytes of the events it completed (through their blank line).

        The relay's fast path for same-dialect streams: most events are forwarded as these bytes,
        and only those carrying something to observe are parsed (``parse_complete``).
        """
        has_cr = 13 in chunk  # an int operand: a byte search, without the bytes-needle type probe
        if not has_cr and not self._buffer and not self._pending_cr and chunk[-2:] == b"\n\n":
            return chunk  # exactly whole events, the usual chunk: nothing to join, search or copy
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
            has_cr = True
        if has_cr:
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        previous = len(self._buffer)
        buffer = self._buffer + chunk if previous else chunk
        end = buffer.rfind(b"\n\n", max(previous - 1, 0))
        if end < 0:
            self._buffer = buffer
            return b""
        self._buffer = buffer[end + 2 :]
        return buffer[: end + 2]

    def flush(self) -> list[SSEEvent]:
        """Return the trailing event of a stream that ended without a blank line, and reset."""
        buffer = self._buffer
        self._buffer = b""
        self._pending_cr = False
        return _parse_blocks(buffer) if buffer.strip() else []


def parse_complete(raw: bytes) -> list[SSEEvent]:
    """The events in bytes returned by ``SSEParser.take_complete``."""
    return _parse_blocks(raw[:-2]) if raw else []


def _parse_blocks(raw: bytes) -> list[SSEEvent]:
    """Parse complete events separated by blank lines (line endings already ``\\n``)."""
    text = raw.decode("utf-8", errors="replace")
    events: list[SSEEvent] = []
    for block in text.split("\n\n"):
        event = _parse_block(block)
        if event is not None:
            events.append(event)
    return events


def _parse_block(block: str) -> SSEEvent | None:
    if block.startswith("data: ") and "\n" not in block:
        # The common case: one data line and nothing else.
        return SSEEvent(block[6:])
    data: list[str] = []
    name: str | None = None
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value or None
        # "id" and "retry" do not matter to the gateway; unknown fields are ignored by the spec.
    if not data:
        return None
    return SSEEvent("\n".join(data), name)


def encode_event(ev: SSEEvent) -> bytes:
    """Serialise ``ev`` as ``event: x\\ndata: y\\n\\n`` (no event line when it has no name)."""
    data = ev.data
    body = "data: " + data.replace("\n", "\ndata: ") if "\n" in data else "data: " + data
    if ev.event is None:
        return (body + "\n\n").encode()
    return f"event: {ev.event}\n{body}\n\n".encode()


# --- The relay's same-dialect fast path ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassthroughMarkers:
    """Which chunks of a same-dialect stream must be parsed; every other chunk passes as it came.

    ``needles``: a chunk of whole events containing any of these substrings is parsed (and fed to the
    observer). ``data_line_needles``: the ones that still matter when the chunk is a single
    ``data: {`` line whose JSON does not open with ``"e`` — such an event is neither the end marker
    (``[DONE]``) nor an error event, so only the observer's mid-data markers are searched for (the
    common OpenAI chunk). Needles are ``str``: the chunk is searched as latin-1 text, where ``in``
    costs a fraction of ``bytes`` ``in`` (which first tries its operand as an integer).
    """

    needles: tuple[str, ...]
    data_line_needles: tuple[str, ...]

    def __post_init__(self) -> None:
        if any(len(needle) >= _REACH for needle in self.data_line_needles):
            raise ValueError(f"data line needles must be shorter than {_REACH} characters")


MUST_PARSE, CLEAN, CLEAN_DATA_LINE = 0, 1, 2
# Longer than any data line needle: how many bytes of a shape's prefix end and suffix start decide
# whether a needle can straddle it (``_safe_shape``).
_REACH = 32


def classify(chunk: bytes, markers: PassthroughMarkers) -> int:
    """``MUST_PARSE``, ``CLEAN`` (whole events, no marker) or ``CLEAN_DATA_LINE`` (also one data line).

    A ``\\r`` line ending, or a chunk that does not end between events, goes to the parser.
    """
    if 13 in chunk:  # "\r" (an int operand makes ``in`` a plain byte search)
        return MUST_PARSE
    line, _, rest = chunk.partition(b"\n")
    if rest == b"\n":  # one line, then the blank line that ends its event
        try:
            # "data: {" not opening '{"e': neither [DONE] nor {"error" (a line that is not data dispatches
            # nothing at all)
            single = line[6] == 123 and line[8] != 101
        except IndexError:
            return MUST_PARSE
        needles = markers.data_line_needles if single else markers.needles
    elif chunk[-2:] == b"\n\n":
        single = False
        needles = markers.needles
    else:
        return MUST_PARSE
    text = chunk.decode("latin-1")
    for needle in needles:  # a loop: any() over a generator costs more than the searches
        if needle in text:
            return MUST_PARSE
    return CLEAN_DATA_LINE if single else CLEAN


class ChunkTemplate:
    """What a stream's plain content chunks share, to recognise the next ones with a few comparisons.

    Content chunks of one stream differ only inside one JSON string (the text delta): ``prefix`` is
    the longest start and ``suffix`` the longest end shared by the clean single data lines seen so far
    (``learn``). A chunk that is ``prefix + middle + suffix`` with no ``"``, ``\\n`` or ``\\r`` in the
    middle is clean as well: no needle fits inside such a middle, none lies inside the prefix or the
    suffix (they come from clean chunks), and ``learn`` only keeps a shape no needle can straddle. The
    prefix covers ``data: {"`` and the byte after, so the chunk is no end marker or error event either.
    ``plen`` is ``OFF`` (no chunk is that long) until two chunks have been seen, and for good once the
    shape proves useless; learning stops after a few refinements, so a stream whose chunks share no
    shape costs little more than ``classify``.
    """

    OFF = 1 << 62
    _REFINEMENTS = 4

    __slots__ = ("_learned", "_markers", "plen", "prefix", "slen", "suffix")

    def __init__(self, markers: PassthroughMarkers) -> None:
        self.prefix = self.suffix = b""
        self.plen = self.OFF
        self.slen = 0
        self._markers = markers
        self._learned = 0

    def matches(self, chunk: bytes) -> bool:
        """True when ``chunk`` has the learned shape with a harmless middle (the relay inlines this)."""
        end = len(chunk) - self.slen
        if end >= self.plen and chunk[: self.plen] == self.prefix and chunk[end:] == self.suffix:
            middle = chunk[self.plen : end]
            return 34 not in middle and 10 not in middle and 13 not in middle
        return False

    def learn(self, chunk: bytes) -> None:
        """Refine the shape with ``chunk``, which ``classify`` found to be a clean single data line."""
        if self._learned >= self._REFINEMENTS:
            return
        self._learned += 1
        if self._learned == 1:
            self.prefix, self.suffix = chunk[:-2], chunk  # the prefix never reaches the line's end
            return
        prefix, suffix = self.prefix, self.suffix
        if not chunk.startswith(prefix):
            prefix = prefix[: _common_prefix(prefix, chunk)]
        if not chunk.endswith(suffix):
            suffix = suffix[len(suffix) - _common_suffix(suffix, chunk) :]
        # A middle with an unescaped quote leaves the string: these chunks differ in more than one place
        # (OpenAI's "obfuscation" padding, say) and the shape would only cost comparisons.
        middle = chunk[len(prefix) : len(chunk) - len(suffix)]
        if (
            len(prefix) < 9
            or 34 in middle.replace(b'\\"', b"")
            or not _safe_shape(prefix, suffix, self._markers)
        ):
            self.plen, self._learned = self.OFF, self._REFINEMENTS  # no usable shape: stop trying
            return
        self.prefix, self.suffix, self.plen, self.slen = prefix, suffix, len(prefix), len(suffix)


# Verdicts by the prefix's last and the suffix's first _REACH bytes: the streams of one model and
# provider share them.
_SAFE_SHAPES: dict[tuple[bytes, bytes, PassthroughMarkers], bool] = {}


def _safe_shape(prefix: bytes, suffix: bytes, markers: PassthroughMarkers) -> bool:
    key = (prefix[-_REACH:], suffix[:_REACH], markers)
    safe = _SAFE_SHAPES.get(key)
    if safe is None:
        needles = [needle.encode("latin-1") for needle in markers.data_line_needles]
        safe = not any(_straddles(key[0], key[1], needle) for needle in needles)
        if len(_SAFE_SHAPES) >= 256:
            _SAFE_SHAPES.clear()
        _SAFE_SHAPES[key] = safe
    return safe


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    diff = int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")
    return n - (diff.bit_length() + 7) // 8


def _common_suffix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    diff = int.from_bytes(a[len(a) - n :], "little") ^ int.from_bytes(b[len(b) - n :], "little")
    return n - (diff.bit_length() + 7) // 8


def _straddles(prefix: bytes, suffix: bytes, needle: bytes) -> bool:
    """Could ``needle`` occur across ``prefix + middle + suffix``, the middle free of ``"``, ``\\n``, ``\\r``?

    Its first ``i`` bytes would end the prefix, bytes ``i:j`` lie in the middle, and bytes ``j:``
    start the suffix; only splits at the prefix's last and the suffix's first byte need a closer look.
    """
    n = len(needle)
    starts = [i + 1 for i in _positions(needle[:-1], prefix[-1:]) if prefix.endswith(needle[: i + 1])]
    ends = [j for j in _positions(needle, suffix[:1]) if j and suffix.startswith(needle[j:])]
    for i in [0, *starts]:
        for j in [*ends, n]:
            middle = needle[i:j]
            if i <= j and 34 not in middle and 10 not in middle and 13 not in middle:
                return True
    return False


def _positions(data: bytes, byte: bytes) -> list[int]:
    """Where ``byte`` (one byte, or nothing) occurs in ``data``."""
    found: list[int] = []
    at = data.find(byte) if byte else -1
    while at >= 0:
        found.append(at)
        at = data.find(byte, at + 1)
    return found
