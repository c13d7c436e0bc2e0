"""The complexity classifier's lexicon: word lists, phrases and byte patterns, compiled once at import.

Kept apart from the scoring so the signals can be read (and tuned) in one place.
"""

from __future__ import annotations

import re

__all__: list[str] = []  # private to llm_gateway_mw.routing.complexity


def _lex(text: str) -> frozenset[bytes]:
    """Word set plus naive plurals (``clause`` -> ``clauses``, ``strategy`` -> ``strategies``)."""
    words = text.encode().split()
    plurals = [w[:-1] + b"ies" if w.endswith(b"y") else w + b"s" for w in words if w.isalpha()]
    return frozenset(words + plurals)


# Lexicons match lower-cased whole words (as bytes, for speed) and name generic categories, not prompts:
# reasoning = heavy-task verbs/nouns, tech = engineering depth, expert = law/medicine/finance/tax,
# asks = request verbs (several mean a multi-part ask), role_cues = expert personas in system prompts.
_LEX_TEXT = {
    "reasoning": """design designing architecture architect tradeoff tradeoffs trade-off trade-offs
    compare comparing comparison contrast analyze analyse analyzing analysis debug debugging diagnose
    optimize optimise optimizing optimization optimal evaluate evaluating evaluation assess assessment
    critique justify justification investigate prioritize prioritise prioritized strategy implications
    recommend recommendation refactor implement implementation estimate synthesize synthesise reconcile
    decompose steelman rigorous rigorously pitfall risk failure invariant correctness plan planning
    roadmap scenario hypotheses methodology mechanism consequence alternative counterargument nuanced
    detailed thorough dependencies sequencing timeline milestone contingency feasibility""",
    "tech": """concurrency concurrent thread threading thread-safe mutex lock locking deadlock race atomic
    volatile memory leak latency throughput p99 p95 scalability scalable distributed consensus raft paxos
    replication replica partition partitioning sharding shard consistency idempotent idempotency
    exactly-once transaction isolation serializable index indexes indexing query queries schema migration
    cache caching invalidation eviction kubernetes k8s pod container docker terraform kafka redis postgres
    postgresql mysql sql database microservice monolith api endpoint grpc tcp udp dns tls oauth jwt
    encryption authentication authorization vulnerability exploit injection xss csrf threat asynchronous
    async await goroutine borrow lifetime pointer segfault heap gc gil algorithm complexity recursion
    recursive graph dag trie hashing benchmark profiling regression gradient neural transformer training
    inference embedding logits optimizer epoch batch loss overfitting fine-tuning quantization statistical
    significance significant variance t-test p-value outlier heavy-tailed percentile cohort retention
    churn margin compiler runtime kernel cpu gpu fence protocol rebalance rebalancing failover
    backpressure throttling sla""",
    "expert": """contract clause liability indemnity indemnify enforceable enforceability jurisdiction
    statute statutory regulation regulator regulatory compliance gdpr hipaa lawsuit litigation tenancy
    non-compete nda whistleblower precedent breach breaches diagnosis differential dosage dose
    contraindication contraindicated interaction prescribed medication patient clinical trial chronic
    renal kidney insulin diabetes symptom valuation dilution equity vesting runway ebitda liquidity
    solvency ratio tax taxes taxation treaty irs depreciation amortization forecast tariff macroeconomic
    recession""",
    "math_proof": """prove proves proof disprove theorem lemma corollary derive derivation counterexample""",
    "math_terms": """integral integrate derivative eigenvalue eigenvector matrix matrices determinant
    converge convergence converges convergent diverge diverges series polynomial prime modulo congruent
    irrational integer probability expected expectation distribution combinatorics recurrence permutation
    tiling bijection injective surjective asymptotic inequality equation continuous differentiable
    uniformly definite semidefinite undecidable decidable axiom""",
    "constraints": """must mustn't should shouldn't cannot can't without never avoid exactly within
    maximum minimum minimize maximize requirement constraint budget deadline limit rule least most""",
    "asks": """explain describe propose compare recommend compute calculate estimate identify list write
    build create design tell show draft flag include handle discuss cover provide outline decide check
    assess evaluate prove derive give find implement test suggest analyze analyse model fit justify review
    critique argue determine detect fix refactor plan prioritize rank walk solve address quantify""",
    "chit_chat": """hi hello hey thanks thank you ok okay cool great nice lol good morning evening bye
    cheers yes no sure awesome perfect got it that's all""",
    "role_cues": """expert senior principal staff careful specialist lawyer physician analyst researcher
    reviewer""",
}
_LEX = {name: _lex(text) for name, text in _LEX_TEXT.items()}
_PUNCT = b'.,;:!?()[]{}"`*<>=/|\\#@%&+~^$'
_TO_SPACE = bytes.maketrans(_PUNCT, b" " * len(_PUNCT))
_Phrases = dict[bytes, list[tuple[bytes, frozenset[bytes]]]]


def _phrases(*phrases: str) -> _Phrases:
    """_Phrases keyed by their longest (rarest) word; each is searched only when all its words occur."""
    index: _Phrases = {}
    for phrase in phrases:
        needed = phrase.encode().translate(_TO_SPACE).split()
        index.setdefault(max(needed, key=len), []).append((phrase.encode(), frozenset(needed)))
    return index


def _phrase_hits(raw: bytes, words: set[bytes], index: _Phrases) -> int:
    return sum(
        1 for w in words & index.keys() for phrase, needed in index[w] if needed <= words and phrase in raw
    )


_REASONING_PHRASES = _phrases(
    "step by step", "root cause", "pros and cons", "edge case", "failure mode", "walk me through",
    "walk through", "think through", "think about", "reason it through", "work through", "in detail",
    "how would you", "what would you", "why does", "why do ", "why is ", "why isn't", "why doesn't",
    "why can't", "why not", "explain why", "explain how", "explain exactly", "what exactly",
    "under what conditions", "and why", "what are the risks", "what happens if", "what happens when",
    "when can", "is it possible", "is it safe", "first principles", "show the computation", "show your work",
    "show the calculation", "show your reasoning", "explain your reasoning", "what would change",
    "what would actually",
)  # fmt: skip
_PROOF_PHRASES = _phrases("show that", "if and only if")
_EXPERT_PHRASES = _phrases("is it safe", "is it legal", "side effect", "can i sue", "am i liable")
_TRACE_PHRASES = _phrases(  # stack traces and crash output
    "traceback (most recent call", "panic:", "sigsegv", "segmentation fault", "goroutine ", "fatal error",
    "uncaught ", "core dumped", "exit code",
)  # fmt: skip
_WH_WORDS = _lex("how why what which whether when")
_SYSTEM_CUES = _LEX["reasoning"] | _LEX["expert"] | _LEX["role_cues"]
_CONTEXT_CUES = _LEX["tech"] | _LEX["expert"] | _LEX["math_terms"]

_NOT_DIGIT = bytes(b for b in range(256) if not (0x30 <= b <= 0x39 or b in b" \t\n\r"))
_ASCII = bytes(range(128))
_FENCE = b"```"
# JS/Java stack frames ("    at OrderList (OrderList.tsx:23)"), Rust compiler errors ("error[E0499]")
_FRAME_RE = re.compile(rb"\n[ \t]+at [\w$.<>]+ ?\(|error\[e\d")
_FRAME_GATES = frozenset({b"at", b"error"})
_ERROR_LINES = (b"error: ", b"exception: ")  # also TypeError:, NullPointerException:
# UTF-8 prefixes of the math-operator block U+2200-U+227F (integral, sum, sqrt, congruent, <=, forall, ...),
# plus double-struck R, N, Z, Q and Greek phi and pi.
_MATH_BYTES = (b"\xe2\x88", b"\xe2\x89", *(c.encode() for c in "\u211d\u2115\u2124\u211a\u03c6\u03c0"))
# Regexes start with a literal where possible so the engine can skip ahead quickly.
_LATEX_RE = re.compile(rb"\\(?:frac|int|sum|lim|sqrt|mathbb|cdot|infty|leq|geq|prod|partial)\b")
_POWER_RE = re.compile(rb"\^ ?\d")
_BIG_O_RE = re.compile(rb"o\((?:n|log|1\)|k|m|v|e|nd)")
_LIST_ITEM_RE = re.compile(rb"\n[ \t]*(?:\d{1,2}[.)]|[-*]|\xe2\x80\xa2)[ \t]")
_WORDS_RE = re.compile(rb"words?\b")
_COUNT_BEFORE_RE = re.compile(rb"(\d[\d,]*)(?:\s*(?:-|to)\s*\d[\d,]*)?\s*-?\s*$")  # "1,500-", "800-1000 "
_POLITE_RE = re.compile(r"(?:(?:hi|hey|hello|please|quick question)[\s,:!]*)?(?:(?:can|could|would) you )?")
_LIGHT_VERB_RE = re.compile(
    r"(?:please )?(?:translate|summari[sz]e|tl;?dr|sum up|fix (?:the )?(?:typos|grammar|spelling)|proofread|"
    r"check .{0,30}spelling|rephrase|rewrite|reword|shorten|paraphrase|simplify|convert|format|sort|extract|"
    r"alphabeti[sz]e|pull out|get the|list the|classify|label|tag|capitali[sz]e|put (?:this|these)|"
    r"turn (?:this|these)|make (?:this|it|my)|give me (?:a|an|one|two|three|five|\d+)\b|suggest|tell me a|"
    r"what(?:'s| is| are| does)|who\b|when (?:did|was|is)|where\b|how (?:many|much|tall|do you say|do i)|"
    r"is this\b|which\b)"
)
_LIGHT_CLAUSE_RE = re.compile(r"what(?:'s| is| are| was)\b|how (?:many|much)\b")
_EFFORT = {"xhigh": 0.45, "high": 0.45, "medium": 0.15, "low": -0.1, "minimal": -0.1, "none": -0.1}
_MAX_TOKEN_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image"})
_TEXT_TYPES = frozenset({"text", "input_text"})
