"""Prompt-complexity classifier: picks a cost tier for a request, fast and explainably.

The score is a clipped sum of named, weighted signals (the last user turn first; system prompt, conversation
shape and request options second), so the signals that fired explain each decision. Stdlib only; the text
scanned is capped (first 1,500 + last 2,500 chars of the last user turn) so huge prompts stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = [
    "STRONG_THRESHOLD",
    "Classifier",
    "ComplexityDecision",
    "classify",
    "default_classifier",
    "tier_thresholds",
]

from .complexity_lexicon import (
    _ASCII,
    _BIG_O_RE,
    _CONTEXT_CUES,
    _COUNT_BEFORE_RE,
    _EFFORT,
    _ERROR_LINES,
    _EXPERT_PHRASES,
    _FENCE,
    _FRAME_GATES,
    _FRAME_RE,
    _IMAGE_TYPES,
    _LATEX_RE,
    _LEX,
    _LIGHT_CLAUSE_RE,
    _LIGHT_VERB_RE,
    _LIST_ITEM_RE,
    _MATH_BYTES,
    _MAX_TOKEN_KEYS,
    _NOT_DIGIT,
    _POLITE_RE,
    _POWER_RE,
    _PROOF_PHRASES,
    _REASONING_PHRASES,
    _SYSTEM_CUES,
    _TEXT_TYPES,
    _TO_SPACE,
    _TRACE_PHRASES,
    _WH_WORDS,
    _WORDS_RE,
    _phrase_hits,
)

STRONG_THRESHOLD = 0.25
"""Score at or above which a request goes to the strongest tier (tuned on the dev split)."""

_HEAD_CHARS = 1500  # instructions sit at the start or the end of a long paste, so scan both
_TAIL_CHARS = 2500
_SYSTEM_CHARS = 1000
_CONTEXT_CHARS = 1500  # of the previous assistant turn


@dataclass(frozen=True, slots=True)
class ComplexityDecision:
    """A routing decision: tier index into the route's targets (0 = cheapest), score in [0, 1], and why."""

    tier: int
    score: float
    reason: str
    signals: tuple[str, ...]


Classifier = Callable[[Mapping[str, Any], int], ComplexityDecision]
"""A pluggable classifier: ``(body, tiers) -> ComplexityDecision``."""


def tier_thresholds(tiers: int, strong: float = STRONG_THRESHOLD) -> tuple[float, ...]:
    """The ``tiers - 1`` ascending score cut-offs; a score at or above the k-th cut gets at least tier k.

    The top cut is always ``strong``, so a prompt judged complex reaches the strongest target however many
    tiers a route has; lower tiers split [0, strong) evenly: tiers=3 gives (strong/2, strong).
    """
    if tiers < 1:
        raise ValueError("tiers must be >= 1")
    return tuple(strong * k / (tiers - 1) for k in range(1, tiers))


@dataclass(slots=True)
class _Parsed:
    """The parts of a request body the classifier reads."""

    user_text: str = ""
    user_turns: int = 0
    system: str = ""
    context: str = ""
    images: int = 0
    tool_results: int = 0


def _is_map(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _content(content: Any, parsed: _Parsed, *, count: bool) -> str:
    """Text of a content value (str or parts); tallies images and tool results when ``count``."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, str):
            texts.append(part)
        elif _is_map(part):
            kind = part.get("type")
            if kind in _TEXT_TYPES and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif count and kind in _IMAGE_TYPES:
                parsed.images += 1
            elif count and kind == "tool_result":
                parsed.tool_results += 1
    return "\n".join(texts)


def _parse(body: Mapping[str, Any]) -> _Parsed:
    """Pull the last user text, system text and conversation shape out of either wire shape."""
    parsed = _Parsed()
    systems = [_content(body.get("system"), parsed, count=False)]
    messages = body.get("messages")
    if not isinstance(messages, list):  # Responses-style ``input`` or legacy ``prompt``
        raw = body.get("input", body.get("prompt"))
        messages = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    last_assistant = ""
    for message in messages if isinstance(messages, list) else ():
        if not _is_map(message):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            systems.append(_content(message.get("content"), parsed, count=False))
        elif role == "user":  # a user turn holding only tool_result blocks is not the user's ask
            text = _content(message.get("content"), parsed, count=True)
            if text and not text.isspace():
                parsed.user_turns += 1
                parsed.user_text, parsed.context = text, last_assistant
        elif role == "assistant":
            last_assistant = _content(message.get("content"), parsed, count=False)
        elif role in ("tool", "function"):
            parsed.tool_results += 1
    parsed.system = "\n".join(s for s in systems if s)[:_SYSTEM_CHARS]
    return parsed


def _tokens(text: str) -> tuple[bytes, set[bytes]]:
    """Lower-cased UTF-8 bytes of ``text`` and its set of punctuation-stripped words."""
    raw = text.encode("utf-8", "ignore").lower()
    if not text.isascii():
        raw = raw.replace("\u2019".encode(), b"'")  # typographic apostrophe
    return raw, set(raw.translate(_TO_SPACE).split())


def _ladder(value: float, steps: tuple[tuple[float, float], ...]) -> float:
    """Weight of the highest step whose threshold ``value`` reaches (steps ascending), else 0."""
    weight = 0.0
    for least, step_weight in steps:
        if value < least:
            break
        weight = step_weight
    return weight


def _after_word(raw: bytes, start: int) -> bool:
    return start > 0 and (raw[start - 1 : start].isalnum() or raw[start - 1] in b"_)")


def _text_signals(text: str, add: Callable[[str, float], None]) -> bool:
    """Signals from the (capped) last user message; returns True if a strong signal fired."""
    size = len(text)
    scan = text if size <= _HEAD_CHARS + _TAIL_CHARS else text[:_HEAD_CHARS] + "\n" + text[-_TAIL_CHARS:]
    raw, words = _tokens(scan)
    strong = False
    if words & _LEX["math_proof"] or _phrase_hits(raw, words, _PROOF_PHRASES):
        add("proof_request", 0.35)
        strong = True
    if _phrase_hits(raw, words, _TRACE_PHRASES) or (words & _FRAME_GATES and _FRAME_RE.search(raw)):
        add("stack_trace", 0.3)
        strong = True
    elif any(m in raw for m in _ERROR_LINES):
        add("error_message", 0.15)
    fences = raw.count(_FENCE) // 2
    if fences:
        code_lines = sum(chunk.count(b"\n") for chunk in raw.split(_FENCE)[1::2])
        add("code_block", _ladder(code_lines, ((0, 0.12), (6, 0.2))))
        if code_lines >= 12 or fences >= 2:
            add("long_code", 0.1)
            strong = True
    elif raw.count(b"`") >= 2:
        add("inline_code", 0.05)
    non_ascii = b"" if scan.isascii() else raw.translate(None, _ASCII)  # multi-byte characters only
    if (
        any(prefix in non_ascii for prefix in _MATH_BYTES)
        or (b"\\" in raw and _LATEX_RE.search(raw))
        or (b"^" in raw and any(_after_word(raw, m.start()) for m in _POWER_RE.finditer(raw)))
    ):
        add("math_notation", 0.12)
    math_terms = len(words & _LEX["math_terms"])
    add("math_terms", min(0.08 * math_terms, 0.24))
    if b"o(" in raw and any(not _after_word(raw, m.start()) for m in _BIG_O_RE.finditer(raw)):
        add("big_o_notation", 0.15)
    cues = len(words & _LEX["reasoning"]) + _phrase_hits(raw, words, _REASONING_PHRASES)
    add("multi_step_cues", min(0.1 * cues, 0.4))
    tech = len(words & _LEX["tech"])
    add("technical_terms", min(0.06 * tech, 0.3))
    expert = len(words & _LEX["expert"]) + _phrase_hits(raw, words, _EXPERT_PHRASES)
    add("specialist_domain", min(0.1 * expert, 0.3))
    asks = len(words & _LEX["asks"])
    questions = raw.count(b"?")
    if questions:  # "how ..., what ... and why ...?" is several questions in one
        questions = max(questions, len(words & _WH_WORDS))
    if (cues or asks >= 2 or questions >= 2 or tech >= 3) and (tech or expert or math_terms):
        add("expert_reasoning", 0.1)
    add("several_asks", _ladder(asks, ((2, 0.05), (3, 0.1), (5, 0.15))))
    add("numbered_requirements", _ladder(len(_LIST_ITEM_RE.findall(raw)), ((3, 0.05), (5, 0.1))))
    add("several_questions", _ladder(questions, ((2, 0.05), (3, 0.1))))
    add("constraints", _ladder(len(words & _LEX["constraints"]), ((2, 0.05), (4, 0.1))))
    add("many_figures", _ladder(len(raw.translate(None, _NOT_DIGIT).split()), ((6, 0.05), (12, 0.1))))
    counts = (
        _COUNT_BEFORE_RE.search(raw, max(0, m.start() - 24), m.start()) for m in _WORDS_RE.finditer(raw)
    )  # "a 1,500-word post", "800-1000 words"
    if b"word" in raw and any(n and int(n[1].replace(b",", b"")) >= 400 for n in counts):
        add("long_output_requested", 0.15)
    add("long_prompt", _ladder(size, ((200, 0.05), (400, 0.1), (800, 0.15), (2000, 0.2))))
    return strong


def _light_task(text: str) -> bool:
    """True when the ask opens the text (or its first clause, or its last line) with a lookup/rewrite verb."""
    head = text[:200].lower().lstrip()
    last_line = text[-200:].rstrip().rsplit("\n", 1)[-1].lower().strip()
    for piece in (head, last_line):
        prefix = _POLITE_RE.match(piece)
        if _LIGHT_VERB_RE.match(piece, prefix.end() if prefix else 0):
            return True
    return any(_LIGHT_CLAUSE_RE.match(clause) for clause in head.split("\n", 1)[0].split(", ", 2)[1:2])


def _option_signals(body: Mapping[str, Any], parsed: _Parsed, add: Callable[[str, float], None]) -> None:
    """Signals from request options and conversation shape rather than the user's words."""
    effort, reasoning, thinking = body.get("reasoning_effort"), body.get("reasoning"), body.get("thinking")
    if effort is None and _is_map(reasoning):
        effort = reasoning.get("effort")
    add("reasoning_effort", _EFFORT.get(effort.lower(), 0.0) if isinstance(effort, str) else 0.0)
    if _is_map(thinking) and thinking.get("type") in ("enabled", "adaptive"):
        add("extended_thinking", 0.45)
    tools = body.get("tools")
    add("tools", _ladder(len(tools) if isinstance(tools, list) else 0, ((1, 0.05), (4, 0.12))))
    add("tool_loop", _ladder(parsed.tool_results, ((1, 0.05),)))
    add("images", _ladder(parsed.images, ((1, 0.1), (3, 0.15))))
    add("long_conversation", _ladder(parsed.user_turns, ((3, 0.05), (6, 0.1))))
    if parsed.context:
        context, context_words = _tokens(parsed.context[-_CONTEXT_CHARS:])
        if _FENCE in context or len(context_words & _CONTEXT_CUES) >= 3:
            add("technical_context", 0.1)
    limit = next((v for k in _MAX_TOKEN_KEYS if type(v := body.get(k)) is int), None)
    if limit is not None:
        add("large_max_tokens", _ladder(limit, ((3000, 0.08), (8000, 0.15))))
        add("small_max_tokens", -0.1 if limit <= 256 else 0.0)
    response_format = body.get("response_format")
    if _is_map(response_format) and response_format.get("type") == "json_schema":
        add("output_schema", 0.05)
    if parsed.system and len(_tokens(parsed.system)[1] & _SYSTEM_CUES) >= 2:
        add("expert_system_prompt", 0.08)


def classify(body: Mapping[str, Any], *, tiers: int = 2) -> ComplexityDecision:
    """Score a Chat Completions or Messages body; map it to a tier (0 = cheapest) via ``tier_thresholds``."""
    cuts = tier_thresholds(tiers)
    fired: list[tuple[str, float]] = []

    def add(name: str, weight: float) -> None:
        if weight:
            fired.append((name, weight))

    options: Mapping[str, Any] = body if _is_map(body) else {}
    parsed = _parse(options)
    text = parsed.user_text
    if not text or text.isspace():
        return _decide(0.0, [("no_user_message", 0.0)], cuts)
    if len(text) < 60 and _tokens(text)[1] <= _LEX["chit_chat"]:
        add("greeting", -0.2)
    if not _text_signals(text, add) and _light_task(text):
        add("lookup_or_rewrite_task", -0.2)
    _option_signals(options, parsed, add)
    return _decide(min(1.0, max(0.0, sum(weight for _, weight in fired))), fired, cuts)


def default_classifier(body: Mapping[str, Any], tiers: int) -> ComplexityDecision:
    """The built-in ``classify`` with the positional ``Classifier`` signature."""
    return classify(body, tiers=tiers)


def _decide(score: float, fired: list[tuple[str, float]], cuts: tuple[float, ...]) -> ComplexityDecision:
    """Map a score to a tier and write the one-line explanation."""
    tier = sum(1 for cut in cuts if score >= cut - 1e-9)
    ranked = sorted(fired, key=lambda item: -abs(item[1]))
    top = bool(cuts) and tier == len(cuts)
    shown = [name.replace("_", " ") for name, weight in ranked if weight > 0 or not top][:3]
    if top:
        verdict, bound = "complex", f"score {score:.2f} ≥ {cuts[-1]:.2f}"
    else:
        verdict = "simple" if tier == 0 else f"moderate (tier {tier} of {len(cuts) + 1})"
        lower = f"{cuts[tier - 1]:.2f} ≤ " if tier else ""
        bound = f"{lower}score {score:.2f} < {cuts[tier] if cuts else 1.0:.2f}"
    reason = f"{verdict}: {' + '.join(shown) or 'no complexity signals'} ({bound})"
    return ComplexityDecision(tier, round(score, 4), reason, tuple(name for name, _ in ranked))
