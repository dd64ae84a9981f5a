"""CoNLL-2003 style tokenization and sentence splitting, with character offsets.

Tokens follow the Penn Treebank / CoNLL conventions: punctuation is split off,
clitics (``'s``, ``n't``, ``'re`` ...) are tokens of their own, while
abbreviations, numbers, hyphenated words, URLs and e-mail addresses stay whole.
Every token records where it came from: ``text[t.start:t.end] == t.text``.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from itertools import chain
from typing import Iterator, NamedTuple


class Token(NamedTuple):
    """A token and its offsets in the original text (``end`` is exclusive)."""

    text: str
    start: int
    end: int


def _unicode_ranges() -> dict[str, list[list[int]]]:
    """Code point ranges of combining marks, uppercase letters and punctuation.

    Python's ``re`` has no ``\\p{...}``, so these are read once from
    ``unicodedata``. Planes 2-3 hold only ideographs (letters) and planes 15-16
    only private use, so scanning planes 0, 1 and 14 is enough.
    """
    wanted = {"Mn": "mark", "Mc": "mark", "Me": "mark", "Lu": "upper",
              "Lt": "upper", "Pc": "punct", "Pd": "punct", "Po": "punct"}
    ranges: dict[str, list[list[int]]] = {name: [] for name in wanted.values()}
    previous = None
    for cp in chain(range(0x20000), range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(cp))
        if category == "Cn":        # unassigned code points may join a range: fewer ranges
            continue
        name = wanted.get(category)
        if name and name == previous:
            ranges[name][-1][1] = cp
        elif name:
            ranges[name].append([cp, cp])
        previous = name
    return ranges


def _char_class(ranges: list[list[int]]) -> str:
    """Regex for one code point in ``ranges``.

    ``re`` tests ranges above U+FFFF one by one, so they sit behind a guard that
    lets only astral characters reach them.
    """
    def body(lo: int, hi: int) -> str:
        return "".join(rf"\U{max(a, lo):08x}-\U{min(b, hi):08x}"
                       for a, b in ranges if a <= hi and b >= lo)
    return rf"(?:[{body(0, 0xFFFF)}]|(?=[\U00010000-\U0010ffff])[{body(0x10000, 0x10FFFF)}])"


_RANGES = _unicode_ranges()
_SPACE = r"\s\u200b"                                    # str.isspace() + zero width space
_SPACE_CHARS = "".join(filter(str.isspace, map(chr, range(0x10000)))) + "\u200b"
_MARK = rf"(?:{_char_class(_RANGES['mark'])}|[\u200c\u200d])"  # combining marks, ZWNJ, ZWJ
_UPPER = _char_class(_RANGES["upper"])
_PUNCT = _char_class(_RANGES["punct"])
_HYPHEN = r"[-\u2010\u2011]"
_APOS = "['\u2019]"
_NT = rf"(?i:n{_APOS}t)(?![^\W_]|{_MARK})"              # n't
_W = rf"(?:(?!{_NT})(?:[^\W_]|{_MARK}))"                # letter, digit or mark, not n't
_CLITIC = rf"{_APOS}(?i:s|re|ve|ll|d|m)(?!{_W})"        # 's 're 've 'll 'd 'm

# Words that keep their period (matched as written, Capitalized or in UPPER case).
_ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Dr Prof St Jr Sr Inc Ltd Co Corp Gen Sen Rep Gov Lt Col Sgt Capt "
    "vs etc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec".split())
_ABBREV_FORMS = sorted({f(w) for w in _ABBREVIATIONS
                        for f in (str, str.capitalize, str.upper)}, key=len, reverse=True)

# One alternative per token kind; the first that matches wins, so order matters.
# A sign belongs to a number only after a blank or at the start: (?<![^{_SPACE}]).
_PIECES = [
    rf"[^\W\d_]++(?=[{_SPACE},;]|\Z)",                         # plain word (fast path)
    r"\w[\w.+%-]{0,63}+@\w+(?:-\w+)*(?:\.\w+(?:-\w+)*)+",     # e-mail
    rf"(?<=[^\W_]|{_MARK}){_CLITIC}|{_NT}",                    # 's n't
    rf"(?:(?<![^{_SPACE}])[+-])?\d+(?:[.,:/-]\d+)*{_W}*(?:{_HYPHEN}{_W}+)*",  # -5 1,200.5 2-1
    rf"(?P<punct>{_PUNCT}|`)(?P=punct)*",                      # . , ... -- ''
    rf"(?i:https?://|ftp://|www\.)[^{_SPACE}<>\"]*"           # URL, minus trailing
    rf"[^{_SPACE}<>\"'\u2019\u201d.,;:!?)\]}}]",               # punctuation
    r"(?:[^\W\d_]\.){2,}",                                     # U.S. e.g. a.m.
    rf"(?:{'|'.join(_ABBREV_FORMS)})\.",                       # Mr. Inc. Jan.
    rf"{_UPPER}\.(?=[{_SPACE}]++{_UPPER})",                    # initial: J. K. Rowling
    rf"{_W}+(?:(?:{_HYPHEN}|(?!{_CLITIC}){_APOS}){_W}+)*",     # German-born O'Neill do|n't
    rf"[^{_SPACE}]{_MARK}*",                                   # any other character
]
# Leading whitespace is consumed inside the match, which is much faster than
# letting finditer retry every alternative at each blank; group 1 is the token.
_TOKEN_RE = re.compile(rf"[{_SPACE}]*+({'|'.join(_PIECES)})")

_CLOSERS = "\"')]}\u2019\u201d\u00bb\u203a"
_OPENERS = "\"'`([{\u2018\u201a\u201c\u201e\u00ab\u2039\u00bf\u00a1"
_END_CHARS = rf"[.!?\u2026{re.escape(_CLOSERS)}]"
# A whole run of end punctuation/closers, then blanks and a sentence opener.
_SENTENCE_END = re.compile(rf"(?<!{_END_CHARS}){_END_CHARS}++"
                           rf"(?=[{_SPACE}]++(?:{_UPPER}|\d|[{re.escape(_OPENERS)}]))")
_END_PUNCT = re.compile(r"[.!?\u2026]+")
_CLOSING = re.compile(f"[{re.escape(_CLOSERS)}]+")
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = f"[{LINE_BREAKS}]"
_BLANK_LINE = re.compile(rf"{_LINE_BREAK}\s*?{_LINE_BREAK}(?<!\r\n)")  # CRLF is one break
_LINE_END = re.compile(rf"{_LINE_BREAK}(?<!\r(?=\n))")                  # CRLF: its \n counts
# A line that runs on into the next: long, and ending mid-sentence (see split_sentences).
WRAPPED_LINE = 40   # characters
_RUNS_ON = ",;&/(-\u2010\u2013\u2014"   # a line ending in these (or in a lower-case word) ends mid-sentence
INDENT = " \t\u00a0\u3000"
_LIST_ITEM = re.compile(r"(?:[-*+\u2022\u2023\u2043\u25aa\u25e6\u00b7\u2013\u2014]|\d{1,3}[.)])[ \t]")
_CAPS = rf"{_UPPER}(?:{_UPPER}|[.'\u2019-])+"
# "WASHINGTON (Reuters) -", "LONDON, Aug 22 (Reuters) -", "PARIS, France --" at a line start
_DATELINE = re.compile(
    rf"(?:(?<={_LINE_BREAK})|\A)[ \t]*{_CAPS}(?:[ \t]+{_CAPS})*"
    rf"(?:,[ \t]*[^\W_][\w.]*(?:[ \t]+[^\W_][\w.]*){{0,3}}(?:[ \t]+\([^()\n]{{1,40}}\))?|[ \t]+\([^()\n]{{1,40}}\))"
    rf"[ \t]+(?:--?|[\u2013\u2014])(?=[ \t])")


LONGEST_TOKEN = 1024    # characters: a longer token is cut into pieces no longer than this
LONGEST_CLUSTER = 32    # characters looked back over to avoid cutting inside a grapheme cluster
_LONG_RUN = re.compile(rf"(?<![^{_SPACE}])[^{_SPACE}]{{{LONGEST_TOKEN + 1}}}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into CoNLL-style tokens with character offsets; a token longer than
    :data:`LONGEST_TOKEN` characters (a run of combining marks, a 1 MB "word") is cut into
    pieces at most that long (see :func:`cut_point`). Linear in ``len(text)``."""
    end = len(text.rstrip(_SPACE_CHARS))  # trailing blanks would be rescanned per position
    tokens = [_new(Token, (m[1], *m.span(1))) for m in _TOKEN_RE.finditer(text, 0, end)]
    if _LONG_RUN.search(text, 0, end):     # tokens never hold a blank: only then can one be long
        tokens = [piece for t in tokens for piece in _pieces(text, t)]
    return tokens


_new = tuple.__new__   # Token(...) without the Python-level __new__ of a NamedTuple: 30% faster


def shift_tokens(tokens: list[Token], offset: int) -> list[Token]:
    """The same tokens with their offsets moved by ``offset``."""
    return [_new(Token, (t.text, t.start + offset, t.end + offset)) for t in tokens]


def _pieces(text: str, t: Token) -> list[Token]:
    """``t`` if it is short enough, else its pieces of at most :data:`LONGEST_TOKEN` characters."""
    if t.end - t.start <= LONGEST_TOKEN:
        return [t]
    out, a = [], t.start
    while t.end - a > LONGEST_TOKEN:
        b = cut_point(text, a, a + LONGEST_TOKEN)
        out.append(_new(Token, (text[a:b], a, b)))
        a = b
    out.append(_new(Token, (text[a:t.end], a, t.end)))
    return out


def joins(text: str, i: int) -> bool:
    """True if ``text[i]`` belongs with the character before it: a combining mark (variation
    selectors too), a joiner, a skin-tone modifier, an emoji tag character, or whatever follows
    a zero-width joiner."""
    ch = text[i]
    return (unicodedata.category(ch)[0] == "M" or ch in "\u200c\u200d" or "\U0001f3fb" <= ch <= "\U0001f3ff"
            or "\U000e0020" <= ch <= "\U000e007f" or text[i - 1] == "\u200d")


def cut_point(text: str, lo: int, limit: int) -> int:
    """Where to cut ``text`` at or before ``limit`` (after ``lo``): the last position that does
    not split a grapheme cluster (:func:`joins`), looking back at most :data:`LONGEST_CLUSTER`
    characters; ``limit`` itself if there is none (a run of 100,000 combining marks is cut
    anyway). Constant time, so cutting a long text is linear whatever it holds."""
    for c in range(limit, max(lo, limit - LONGEST_CLUSTER), -1):
        if not joins(text, c):
            return c
    return limit


def _ends_sentence(tokens: list[Token], i: int) -> bool:
    """True if ``tokens[i]`` closes a sentence: end punctuation plus attached closers."""
    while i and _CLOSING.fullmatch(tokens[i].text) and tokens[i - 1].end == tokens[i].start:
        i -= 1
    tok = tokens[i]
    if not _END_PUNCT.fullmatch(tok.text):
        return False
    prev = tokens[i - 1] if i else None
    initial = (tok.text == "." and prev is not None and prev.end == tok.start
               and len(prev.text) == 1 and prev.text.isupper())
    return not initial


def split_sentences(text: str, column: int = 0) -> list[list[Token]]:
    """Tokenize ``text`` and group the tokens into sentences.

    A sentence ends after ``.``, ``!``, ``?`` or ``...`` (plus closing quotes or
    brackets right after it) when whitespace and then an uppercase letter, a
    digit or an opening quote/bracket follow. Abbreviation tokens (``Mr.``,
    ``U.S.``) and single-letter initials never end a sentence; a blank line
    always does.

    Lines count too. A line that ends without sentence punctuation ends its sentence
    (a headline, a title, a caption line, a list item) unless it is hard-wrapped prose:
    the next line starts with a lower-case letter, or the line is at least
    :data:`WRAPPED_LINE` characters long and ends mid-sentence (on a lower-case word,
    a comma, a hyphen or a dash). A line that starts a list item (``-``, ``*``, ``•``,
    ``1.``, ``2)`` then a blank) always starts a sentence, and a dateline at the start
    of a line (``WASHINGTON (Reuters) -``, ``LONDON, Aug 22 -``) is a sentence of its own.
    ``column`` is how many characters of the first line come before ``text`` (when
    ``text`` continues a line), so that line's length is known.
    """
    tokens = tokenize(text)
    ends = [t.end for t in tokens]
    cuts = {bisect_right(ends, m.start()) for m in _BLANK_LINE.finditer(text)}
    cuts.update(bisect_right(ends, i) for i in _line_ends(text, column))
    for m in _DATELINE.finditer(text):
        if m.start() or not column:
            cuts.add(bisect_left(ends, m.end()) + 1)
    for m in _SENTENCE_END.finditer(text):
        i = bisect_left(ends, m.end())          # the token that ends right there
        if _ends_sentence(tokens, i) and not _numbers_item(text, tokens, i, column):
            cuts.add(i + 1)
    bounds = sorted(cuts | {0, len(tokens)})
    return [tokens[a:b] for a, b in zip(bounds, bounds[1:]) if a < b]


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\r?\n")   # a blank line (LF or CRLF)
_UPPER_CHAR = re.compile(_UPPER)


def paragraph_break(text: str, start: int = 0) -> int:
    """A position at or after ``start`` where ``text`` may be cut in two whose tokens and
    sentences, with offsets moved, are those of the whole text; -1 if there is none.

    It is the start of the line after a blank line: a blank line ends a sentence, no token
    holds a line break, and the line rules see the next line start there either way. The one
    rule that looks past a blank line, ``J.`` as an initial when a capital follows, is kept
    away from: a paragraph ending in a capital and a period is not cut after."""
    for m in _PARAGRAPH_BREAK.finditer(text, max(start - 1, 0)):
        head = text[max(m.start() - 64, 0):m.start()].rstrip(_SPACE_CHARS)
        if not head and m.start() > 64:
            continue                                  # long blanks: what comes before is unseen
        if head.endswith(".") and _UPPER_CHAR.fullmatch(head[-2:-1]):
            continue
        if m.end() >= start:
            return m.end()
    return -1


def _numbers_item(text: str, tokens: list[Token], i: int, column: int) -> bool:
    """True if ``tokens[i]`` is the period of a list item's number (``1.`` at a line start)."""
    if i == 0 or tokens[i].text != "." or not tokens[i - 1].text.isdigit() or len(tokens[i - 1].text) > 3:
        return False
    j = tokens[i - 1].start
    while j and text[j - 1] in INDENT:
        j -= 1
    return text[j - 1] in LINE_BREAKS if j else not column


def _line_ends(text: str, column: int) -> Iterator[int]:
    """Positions of the line breaks that end a sentence by the line rule of
    :func:`split_sentences` (lines ending in sentence punctuation are left to the
    punctuation rule, blank lines to the blank-line rule)."""
    start = -column                                   # where the current line starts
    for m in _LINE_END.finditer(text):
        line, length = text[max(start, 0):m.start()].rstrip(_SPACE_CHARS), m.start() - start
        start = j = m.end()
        while j < len(text) and text[j] in INDENT:
            j += 1
        following = text[j:j + 1]
        if not line or not following or _LINE_END.match(following):
            continue                                  # a blank line, or the text ends
        last = line.rstrip(_CLOSERS)[-1:]
        if _LIST_ITEM.match(text, j):
            yield m.start()
        elif not (_END_PUNCT.match(last) or following.islower()
                  or (length >= WRAPPED_LINE and (last in _RUNS_ON or line.rsplit(None, 1)[-1].islower()))):
            yield m.start()
