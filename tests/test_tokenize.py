"""Tests for nerwin.tokenize: CoNLL-style tokens, offsets and sentence splitting."""

import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from nerwin.tokenize import LONGEST_TOKEN, Token, cut_point, split_sentences, tokenize

SEPARATORS = {"\u200b"}  # zero width space counts as whitespace too


def texts(text):
    return [t.text for t in tokenize(text)]


def is_blank(c):
    return c.isspace() or c in SEPARATORS


def assert_invariant(text, tokens):
    """Offsets are exact, tokens are non-empty, blank-free, ordered, and cover all non-blanks."""
    previous_end = 0
    for tok in tokens:
        assert isinstance(tok, Token)
        assert tok.text, tok
        assert text[tok.start:tok.end] == tok.text, tok
        assert not any(is_blank(c) for c in tok.text), tok
        assert previous_end <= tok.start < tok.end, tok
        previous_end = tok.end
    assert "".join(t.text for t in tokens) == "".join(c for c in text if not is_blank(c))


def assert_sentences(text, sentences):
    assert all(sentences), "empty sentence returned"
    assert [tok for s in sentences for tok in s] == tokenize(text)


# --- tokenization rules -----------------------------------------------------------

PUNCTUATION = [
    ("Paris.", ["Paris", "."]),
    ('"Hi,"', ['"', "Hi", ",", '"']),
    ("(Reuters) - Germany", ["(", "Reuters", ")", "-", "Germany"]),
    ("a;b:c", ["a", ";", "b", ":", "c"]),
    ("\u201cYes\u201d, she said!", ["\u201c", "Yes", "\u201d", ",", "she", "said", "!"]),
    ("word--word", ["word", "--", "word"]),
    ("Wait...", ["Wait", "..."]),
    ("No!!!", ["No", "!!!"]),
    ("What?!", ["What", "?", "!"]),
    ("so\u2026", ["so", "\u2026"]),
    ("``quoted''", ["``", "quoted", "''"]),
]

CLITICS = [
    ("Germany's", ["Germany", "'s"]),
    ("JOHN'S", ["JOHN", "'S"]),
    ("don't", ["do", "n't"]),
    ("DON'T", ["DO", "N'T"]),
    ("can't won't", ["ca", "n't", "wo", "n't"]),
    ("they're we've you'll he'd I'm", ["they", "'re", "we", "'ve", "you", "'ll", "he", "'d", "I", "'m"]),
    ("THEY'RE WE'VE", ["THEY", "'RE", "WE", "'VE"]),
    ("Germany\u2019s", ["Germany", "\u2019s"]),
    ("don\u2019t", ["do", "n\u2019t"]),
    ("1990's", ["1990", "'s"]),
    ("O'Neill", ["O'Neill"]),
    ("O'Neill's", ["O'Neill", "'s"]),
    ("players' fans", ["players", "'", "fans"]),
    ("'sup", ["'", "sup"]),
]

ABBREVIATION_CASES = [
    ("U.S.", ["U.S."]),
    ("U.K. team", ["U.K.", "team"]),
    ("e.g. this", ["e.g.", "this"]),
    ("at 9 a.m.", ["at", "9", "a.m."]),
    ("i.e., fine", ["i.e.", ",", "fine"]),
    ("Mr. Smith", ["Mr.", "Smith"]),
    ("Mrs. Smith", ["Mrs.", "Smith"]),
    ("Apple Inc. said", ["Apple", "Inc.", "said"]),
    ("cats vs. dogs", ["cats", "vs.", "dogs"]),
    ("apples, etc.", ["apples", ",", "etc."]),
    ("Sept. 11", ["Sept.", "11"]),
    ("MR. SMITH", ["MR.", "SMITH"]),
    ("May. 5", ["May", ".", "5"]),
    ("Mr Smith", ["Mr", "Smith"]),
    ("J. K. Rowling", ["J.", "K.", "Rowling"]),
    ("George W. Bush", ["George", "W.", "Bush"]),
    ("Plan B. then", ["Plan", "B", ".", "then"]),
    ("Plan B.", ["Plan", "B", "."]),
]

NUMBERS = [
    ("3.5", ["3.5"]),
    ("1,200", ["1,200"]),
    ("1,200.50", ["1,200.50"]),
    ("won 2-1", ["won", "2-1"]),
    ("1/2", ["1/2"]),
    ("10:30", ["10:30"]),
    ("-5", ["-5"]),
    ("fell -0.5 percent", ["fell", "-0.5", "percent"]),
    ("+5", ["+5"]),
    ("(-5)", ["(", "-", "5", ")"]),
    ("It cost 5.", ["It", "cost", "5", "."]),
    ("5, 6", ["5", ",", "6"]),
    ("$5", ["$", "5"]),
    ("50%", ["50", "%"]),
    ("1990s", ["1990s"]),
]

HYPHENS = [
    ("German-born", ["German-born"]),
    ("state-of-the-art", ["state-of-the-art"]),
    ("well-known.", ["well-known", "."]),
    ("F-16", ["F-16"]),
    ("10-year-old", ["10-year-old"]),
    ("pre- and post-war", ["pre", "-", "and", "post-war"]),
]

URLS_AND_EMAILS = [
    ("https://www.example.com/path?q=1&x=2", ["https://www.example.com/path?q=1&x=2"]),
    ("see www.reuters.com.", ["see", "www.reuters.com", "."]),
    ("(http://x.org/a)", ["(", "http://x.org/a", ")"]),
    ("HTTP://X.ORG, ok", ["HTTP://X.ORG", ",", "ok"]),
    ("mail john.smith@example.co.uk.", ["mail", "john.smith@example.co.uk", "."]),
    ("<a_b+c@my-host.org>", ["<", "a_b+c@my-host.org", ">"]),
    ("a @ b", ["a", "@", "b"]),
]

SYMBOLS = [
    ("a+b", ["a", "+", "b"]),
    ("$$", ["$", "$"]),
    ("((x))", ["(", "(", "x", ")", ")"]),
    ("\u00a92024", ["\u00a9", "2024"]),
    ("\U0001f600\U0001f600", ["\U0001f600", "\U0001f600"]),
    ("a\x00b\x07c", ["a", "\x00", "b", "\x07", "c"]),
    ("_x_", ["_", "x", "_"]),
]

LETTERS = [
    ("Z\u00fcrich", ["Z\u00fcrich"]),
    ("Dvo\u0159\u00e1k.", ["Dvo\u0159\u00e1k", "."]),
    ("\u6771\u4eac", ["\u6771\u4eac"]),
    ("e\u0301te\u0301", ["e\u0301te\u0301"]),                      # decomposed accents
    ("cafe\u0301's", ["cafe\u0301", "'s"]),
    ("\u0939\u093f\u0928\u094d\u0926\u0940", ["\u0939\u093f\u0928\u094d\u0926\u0940"]),  # Hindi
    ("\u0645\u0631\u062d\u0628\u0627!", ["\u0645\u0631\u062d\u0628\u0627", "!"]),         # Arabic
    ("\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd", ["\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd"]),  # Hebrew + niqqud
]

WHITESPACE = [
    ("a\u00a0b", ["a", "b"]),
    ("a\u200bb", ["a", "b"]),
    ("a\u2028b\u2029c", ["a", "b", "c"]),
    ("a\tb\r\nc", ["a", "b", "c"]),
    ("a\x1fb\x0bc\x0cd", ["a", "b", "c", "d"]),
    ("a\u3000b\u2009c", ["a", "b", "c"]),
    ("  \t\n\u200b ", []),
    ("", []),
]


@pytest.mark.parametrize(
    "text, expected",
    PUNCTUATION + CLITICS + ABBREVIATION_CASES + NUMBERS + HYPHENS + URLS_AND_EMAILS
    + SYMBOLS + LETTERS + WHITESPACE,
)
def test_tokenize_rules(text, expected):
    assert texts(text) == expected
    assert_invariant(text, tokenize(text))


TITLES = ("Mr Mrs Ms Dr Prof St Jr Sr Inc Ltd Co Corp Gen Sen Rep Gov Lt Col Sgt Capt vs etc "
          "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec").split()


@pytest.mark.parametrize("word", TITLES)
def test_every_listed_abbreviation_keeps_its_period(word):
    assert texts(f"saw {word}. Smith") == ["saw", f"{word}.", "Smith"]


def test_tokens_carry_offsets():
    assert tokenize("Hi  there.") == [Token("Hi", 0, 2), Token("there", 4, 9), Token(".", 9, 10)]
    assert Token._fields == ("text", "start", "end")


# --- offsets on tricky input -------------------------------------------------------

TRICKY = [
    "Line one.\r\nLine two.\r\n\r\nNew paragraph",
    "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467 and \u2764\ufe0f and #\ufe0f\u20e3 \U0001f44d\U0001f3fd",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0643\u0645 in Cairo. \u05e9\u05dc\u05d5\u05dd, Tel Aviv!",
    "\u202bRTL override\u202c \u200fmark\u200e",
    "Zu\u0308rich a\u0301\u0302\u0303 \u0301leading mark",
    "nul\x00in\x00the\x01middle\x7f\x1b[0m",
    "non\u00a0breaking\u00a0space\u202fnarrow",
    "lone \udcff\udc80 surrogates \ud800x",
    "max \U0010ffff and BOM \ufeff",
    "tabs\tand\vvertical\fform",
    "don't stop 'til U.S.-led e.g.. Mr.. ...! ?!? -5-3 --5 +-5",
    "x" * 5000 + " " + "." * 5000 + " " + "\u200b" * 500,
]


@pytest.mark.parametrize("text", TRICKY)
def test_offsets_on_tricky_strings(text):
    assert_invariant(text, tokenize(text))
    assert_sentences(text, split_sentences(text))


def test_crlf_offsets_point_into_original():
    text = "Hi.\r\nYo"
    assert tokenize(text) == [Token("Hi", 0, 2), Token(".", 2, 3), Token("Yo", 5, 7)]


# --- sentence splitting ------------------------------------------------------------

SENTENCES = [
    ("Mr. Smith went to Washington. He arrived.",
     ["Mr. Smith went to Washington .", "He arrived ."]),
    ("He lives in the U.S. He works.", ["He lives in the U.S. He works ."]),
    ("Dr. Jones met Prof. Brown on Jan. 5. They talked.",
     ["Dr. Jones met Prof. Brown on Jan. 5 .", "They talked ."]),
    ("It was Apple Inc. Nobody knew.", ["It was Apple Inc. Nobody knew ."]),
    ("J. K. Rowling wrote it. It sold.", ["J. K. Rowling wrote it .", "It sold ."]),
    ("Plan B. 5 people came.", ["Plan B . 5 people came ."]),
    ('He said "Stop." Then he left.', ['He said " Stop . "', "Then he left ."]),
    ("(It was late.) Then it ended.", ["( It was late . )", "Then it ended ."]),
    ('It ended. "Why?" she asked.', ["It ended .", '" Why ? " she asked .']),
    ("It ended. (Really.)", ["It ended .", "( Really . )"]),
    ("Really? yes, really.", ["Really ? yes , really ."]),
    ("Wait... What?! No.", ["Wait ...", "What ? !", "No ."]),
    ("It cost 5. 6 more came.", ["It cost 5 .", "6 more came ."]),
    ("Paris.The end", ["Paris . The end"]),
    ("etc. And then", ["etc. And then"]),
    ("Stop!\u00a0Go", ["Stop !", "Go"]),
    ("End. \u00c9tienne came.", ["End .", "\u00c9tienne came ."]),
    ("one\n\ntwo", ["one", "two"]),
    ("one\r\n\r\ntwo", ["one", "two"]),
    ("one\n \t \ntwo", ["one", "two"]),
    ("one\ntwo", ["one two"]),
    ("one\r\ntwo", ["one two"]),
    ("Title\n\nMr. Smith said so.", ["Title", "Mr. Smith said so ."]),
    ("no end punctuation here", ["no end punctuation here"]),
    ("", []),
    (" \n\n \n\n ", []),
]


# Lines: a line without sentence punctuation ends its sentence, unless it is hard-wrapped prose.
WRAPPED = ("The company said on Tuesday that it would buy the\n"
           "Ohio-based maker of widgets for $5 million, a deal\n"
           "that analysts at Goldman Sachs in New York welcomed,\n"
           "Reuters reported.")
LINES = [
    ("DEAL\nOhio Corp said on Monday it would buy Acme.",               # headline
     ["DEAL", "Ohio Corp said on Monday it would buy Acme ."]),
    ("Clinton Signs Bill to Raise Minimum Wage for Ten Million Workers\nThe bill passed.",
     ["Clinton Signs Bill to Raise Minimum Wage for Ten Million Workers", "The bill passed ."]),
    ("Apple to buy startup\nApple Inc said it would pay $1 billion.",    # sentence-case title
     ["Apple to buy startup", "Apple Inc said it would pay $ 1 billion ."]),
    ("WASHINGTON (Reuters) - The U.S. Senate voted on Tuesday.",        # datelines
     ["WASHINGTON ( Reuters ) -", "The U.S. Senate voted on Tuesday ."]),
    ("LONDON, Aug 22 (Reuters) - Shares fell.\nNEW YORK (AP) \u2014 Stocks rose.",
     ["LONDON , Aug 22 ( Reuters ) -", "Shares fell .", "NEW YORK ( AP ) \u2014", "Stocks rose ."]),
    ("SOCCER - JAPAN GET LUCKY WIN", ["SOCCER - JAPAN GET LUCKY WIN"]),  # no agency, no place: a headline
    ("Results:\n- Manchester United 2 Chelsea 1\n- Real Madrid beat Barcelona\n* Ajax drew",
     ["Results :", "- Manchester United 2 Chelsea 1", "- Real Madrid beat Barcelona", "* Ajax drew"]),
    ("Steps\n1. Call John Smith in Paris\n 2. Email Acme Corp.",           # numbered items
     ["Steps", "1 . Call John Smith in Paris", "2 . Email Acme Corp."]),
    ("OBAMA SAYS\nCONGRESS MUST ACT\n", ["OBAMA SAYS", "CONGRESS MUST ACT"]),   # caption lines
    (WRAPPED, [WRAPPED.replace("\n", " ").replace("$5", "$ 5").replace(",", " ,").replace(".", " .")]),
    ("we met john smith in\nparis today", ["we met john smith in paris today"]),  # lower-case continuation
    ("He said so.\nShe agreed.", ["He said so .", "She agreed ."]),
    ("The long line of prose ends with a name, Bill Gates\nMicrosoft Corp said.",
     ["The long line of prose ends with a name , Bill Gates", "Microsoft Corp said ."]),
]


@pytest.mark.parametrize("text, expected", LINES)
def test_split_sentences_at_lines(text, expected):
    sentences = split_sentences(text)
    assert [" ".join(t.text for t in s) for s in sentences] == expected
    assert_sentences(text, sentences)


def test_column_says_where_the_first_line_began():
    line = "short line ends here in the middle of a"    # 39 characters: not a wrapped line alone
    assert len(split_sentences(line + "\nSentence.")) == 2
    assert len(split_sentences(line + "\nSentence.", column=10)) == 1
    dateline = "PARIS (AFP) - Le roi."
    assert len(split_sentences(dateline)) == 2 and len(split_sentences(dateline, column=3)) == 1


@pytest.mark.parametrize("text, expected", SENTENCES)
def test_split_sentences(text, expected):
    sentences = split_sentences(text)
    assert [" ".join(t.text for t in s) for s in sentences] == expected
    assert_sentences(text, sentences)


# --- properties --------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)   # incl. surrogates
SURROGATE_ESCAPED = st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape"))
RULE_HEAVY = st.text(  # characters that trigger the special rules, so they get combined
    st.sampled_from(list("aAzZnNtTsS019.,'\u2019-+/:@!?\"()… \n\r\t\u00a0\u200b\u0301é$😀•*\u2014")),
    max_size=300,
)


def check_properties(text):
    tokens = tokenize(text)
    assert_invariant(text, tokens)
    assert_sentences(text, split_sentences(text))


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_properties_any_text(text):
    check_properties(text)


@settings(max_examples=300, deadline=None)
@given(SURROGATE_ESCAPED)
def test_properties_surrogateescape_bytes(text):
    check_properties(text)


@settings(max_examples=300, deadline=None)
@given(RULE_HEAVY)
def test_properties_rule_heavy_text(text):
    check_properties(text)


# --- long inputs (speed lives in benchmarks; here only correctness) -------------

def test_one_megabyte_keeps_every_offset():
    sample = ('Mr. Smith of the U.S. said on Jan. 5 that Germany\'s team won 2-1. "Great!" '
              "he said... The E.U. didn't comment.\n\nVisit https://x.org or a.b@c.de. "
              "Z\u00fcrich 3.5% 1,200 people. ")
    text = sample * 4000
    tokens = tokenize(text)
    assert len(tokens) == 4000 * len(tokenize(sample))
    check_properties(text)


@pytest.mark.parametrize("text", [
    " " * 200_000 + "x",
    "x" + " " * 200_000,
    "." * 200_000,
    "." * 200_000 + " A",
    "J." + " " * 200_000 + "x",
    "a" * 200_000 + "n't",
    "\n" + " " * 200_000,
    "-" * 200_000 + "5",
])
def test_long_runs(text):
    check_properties(text)


# --- hostile runs: linear work and bounded tokens, whatever the characters -------------

def _samples_of_every_category():
    """The first and the last character of each Unicode general category in planes 0-1 (lone
    surrogates too), and the sequences that build grapheme clusters or trigger special rules."""
    by_category = {}
    for cp in range(0x20000):
        by_category.setdefault(unicodedata.category(chr(cp)), []).append(chr(cp))
    out = {f"{cat}-{i}": chars[k] for cat, chars in sorted(by_category.items()) if cat != "Cn"
           for i, k in enumerate((0, -1))}
    out.update({"ZWJ": "\u200d", "ZWNJ": "\u200c", "variation selector": "\ufe0f",
                "skin tone": "\U0001f3fb", "tag character": "\U000e0061", "a+ZWJ": "a\u200d",
                "emoji family": "\U0001f468\u200d\U0001f469\u200d\U0001f467", "e+acute": "e\u0301",
                "initial": "A. ", "clitic": "n't", "e-mail": "a@", "URL": "http://."})
    return out


HOSTILE = _samples_of_every_category()


@pytest.mark.parametrize("unit", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_long_run_of_any_character_gives_bounded_tokens(unit):
    text = "e" + unit * (3 * LONGEST_TOKEN // len(unit))
    tokens = tokenize(text)
    assert_invariant(text, tokens)
    assert max(t.end - t.start for t in tokens) <= LONGEST_TOKEN


def test_two_hundred_thousand_combining_marks_are_cut_into_short_tokens():
    text = "e" + "\u0301" * 200_000           # took minutes when marks made one token
    tokens = tokenize(text)
    assert "".join(t.text for t in tokens) == text
    assert len(tokens) == -(-len(text) // LONGEST_TOKEN)


@pytest.mark.parametrize("text, limit, cut", [
    ("abc\u0301\u0301def", 4, 2),               # not inside e + marks: before the letter
    ("ab\U0001f44d\U0001f3fbc", 3, 2),          # not between an emoji and its skin tone
    ("ab\u200dc", 3, 1),                        # not after a joiner nor before it
    ("x" + "\u0301" * 100, 90, 90),             # a run longer than LONGEST_CLUSTER: cut anyway
])
def test_cut_point_keeps_grapheme_clusters_whole(text, limit, cut):
    assert cut_point(text, 0, limit) == cut
