"""Look-alike checks: UTS 39 Highly Restrictive labels, and what UTS 46 mapping changed in a name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import regex

from provider.rules import lookalikes
from provider.rules.domain_name import normalize_domain
from provider.rules.lookalikes import (
    ALL_SCRIPTS,
    SCRIPT_CODES,
    NameChange,
    describe_normalization,
    format_code_point,
    is_highly_restrictive,
    label_scripts,
    mixed_script_labels,
    script_name,
)

# Look-alike letters are written as escapes: typed out, they could not be told from Latin in review.
CYRILLIC_A = "\u0430"
CYRILLIC_CAPITAL_A = "\u0410"
GREEK_OMICRON = "\u03bf"
ARMENIAN_CO = "\u0581"
CHEROKEE_GO = "\u13aa"
PAYPAL_CYRILLIC = f"p{CYRILLIC_A}ypal"
GOOGLE_GREEK = f"g{GREEK_OMICRON}ogle"
GOOGLE_ARMENIAN = f"{ARMENIAN_CO}oogle"
APPLE_CHEROKEE = f"{CHEROKEE_GO}pple"
APPLE_CYRILLIC = "\u0430\u0440\u0440\u04cf\u0435"  # every letter Cyrillic
GREEK_ALPHA_BETA_GAMMA = "\u03b1\u03b2\u03b3"
ARABIC_MITHAL = "\u0645\u062b\u0627\u0644"  # Arabic for "example"

SHOWN_CYRILLIC_A = f"{CYRILLIC_A} (U+0430 CYRILLIC SMALL LETTER A)"
SHOWN_GREEK_OMICRON = f"{GREEK_OMICRON} (U+03BF GREEK SMALL LETTER OMICRON)"

HAN = frozenset({"Hani", "Hanb", "Jpan", "Kore"})
NONE: frozenset[str] = frozenset()

# (label, Highly Restrictive?, resolved script set). An empty resolved set with True is a label that
# mixes scripts in one of the three allowed combinations (Latin with Han and kana, Bopomofo or Hangul).
LABELS = [
    # Single script, with and without Common characters.
    ("paypal", True, frozenset({"Latn"})),
    ("bücher", True, frozenset({"Latn"})),
    ("münchen", True, frozenset({"Latn"})),
    ("straße", True, frozenset({"Latn"})),
    ("mail-2", True, frozenset({"Latn"})),
    ("col·legi", True, frozenset({"Latn"})),  # the Catalan middle dot is also Latin (Script_Extensions)
    ("ελλάδα", True, frozenset({"Grek"})),
    ("москва", True, frozenset({"Cyrl"})),
    ("հայաստան", True, frozenset({"Armn"})),
    ("ᏣᎳᎩ", True, frozenset({"Cher"})),
    (ARABIC_MITHAL, True, frozenset({"Arab"})),
    # Common and Inherited characters belong to every script.
    ("123-456", True, ALL_SCRIPTS),
    ("0", True, ALL_SCRIPTS),
    # Han, kana, Hangul and Bopomofo resolve through the augmented scripts Jpan, Kore and Hanb.
    ("東京", True, HAN),
    ("東京2020", True, HAN),
    ("日本語テスト", True, frozenset({"Jpan"})),
    ("ひらがなカタカナ", True, frozenset({"Jpan"})),
    ("ラーメン", True, frozenset({"Kana", "Jpan"})),  # U+30FC is Hiragana and Katakana
    ("らーめん", True, frozenset({"Hira", "Jpan"})),
    ("한국어", True, frozenset({"Hang", "Kore"})),
    ("韓國한국", True, frozenset({"Kore"})),
    ("注音ㄅㄆ", True, frozenset({"Hanb"})),
    # Latin with one of the three East Asian sets: allowed although no single script covers them.
    ("中文abc", True, NONE),
    ("テストtest", True, NONE),
    ("abc漢字ひらカタ", True, NONE),
    ("test한국", True, NONE),
    ("abcㄅㄆ", True, NONE),
    # Mixed scripts that UTS 39 rejects.
    (PAYPAL_CYRILLIC, False, NONE),
    (GOOGLE_GREEK, False, NONE),
    (GREEK_ALPHA_BETA_GAMMA + "abc", False, NONE),
    (GOOGLE_ARMENIAN, False, NONE),
    (APPLE_CHEROKEE, False, NONE),
    ("москваδ", False, NONE),  # Cyrillic and Greek
    ("москва中", False, NONE),  # Cyrillic and Han
    ("한국あ", False, NONE),  # Hangul and Hiragana
    ("abc한국ひら", False, NONE),  # Latin, Hangul and Hiragana: no allowed set has all three
    ("漢字ㄅ한국", False, NONE),  # Han, Bopomofo and Hangul
    (ARABIC_MITHAL + "abc", False, NONE),
    # Whole-script look-alikes are out of this check's reach: all Cyrillic, so Single Script.
    (APPLE_CYRILLIC, True, frozenset({"Cyrl"})),
]


@pytest.mark.parametrize(("label", "allowed", "resolved"), LABELS)
def test_a_label_is_highly_restrictive_when_uts39_says_so(
    label: str, allowed: bool, resolved: frozenset[str]
) -> None:
    assert is_highly_restrictive(label) is allowed
    assert label_scripts(label) == resolved


@pytest.mark.parametrize(("label", "allowed", "resolved"), [row for row in LABELS if not row[0].isascii()])
def test_a_punycode_label_is_checked_by_its_real_characters(
    label: str, allowed: bool, resolved: frozenset[str]
) -> None:
    punycode = "xn--" + label.encode("punycode").decode("ascii")
    assert is_highly_restrictive(punycode) is allowed
    assert label_scripts(punycode) == resolved


# (name, failing labels as (Unicode, punycode, scripts found)).
NAMES: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        f"{PAYPAL_CYRILLIC}.com",
        [(PAYPAL_CYRILLIC, "xn--pypal-4ve", f"Latin: p, y, a; Cyrillic: {SHOWN_CYRILLIC_A}")],
    ),
    ("paypal.com", []),
    ("bücher.de", []),
    ("münchen.de", []),
    ("東京.jp", []),
    ("日本語テスト.jp", []),
    ("한국어.kr", []),
    ("中文abc.cn", []),
    ("123-456.com", []),
    (f"{APPLE_CYRILLIC}.com", []),
    ("mail.straße.de", []),
    (
        f"{GOOGLE_GREEK}.com",
        [(GOOGLE_GREEK, "xn--gogle-rce", f"Latin: g, o, l; Greek: {SHOWN_GREEK_OMICRON}")],
    ),
    (
        f"{GOOGLE_ARMENIAN}.com",
        [
            (
                GOOGLE_ARMENIAN,
                "xn--oogle-vjg",
                f"Armenian: {ARMENIAN_CO} (U+0581 ARMENIAN SMALL LETTER CO); Latin: o, g, l",
            )
        ],
    ),
    (
        f"{APPLE_CHEROKEE}.com",
        [
            (
                APPLE_CHEROKEE,
                "xn--pple-49t",
                f"Cherokee: {CHEROKEE_GO} (U+13AA CHEROKEE LETTER GO); Latin: p, l, e",
            )
        ],
    ),
    (
        "한국あ.kr",
        [
            (
                "한국あ",
                "xn--l8j3288aibza",
                "Hangul: 한 (U+D55C HANGUL SYLLABLE HAN), 국 (U+AD6D HANGUL SYLLABLE GUG); "
                "Hiragana: あ (U+3042 HIRAGANA LETTER A)",
            )
        ],
    ),
    # Every failing label, in order, wherever it stands in the name.
    (
        f"{PAYPAL_CYRILLIC}.{GOOGLE_GREEK}.com",
        [
            (PAYPAL_CYRILLIC, "xn--pypal-4ve", f"Latin: p, y, a; Cyrillic: {SHOWN_CYRILLIC_A}"),
            (GOOGLE_GREEK, "xn--gogle-rce", f"Latin: g, o, l; Greek: {SHOWN_GREEK_OMICRON}"),
        ],
    ),
    (
        f"mail.{PAYPAL_CYRILLIC}.com",
        [(PAYPAL_CYRILLIC, "xn--pypal-4ve", f"Latin: p, y, a; Cyrillic: {SHOWN_CYRILLIC_A}")],
    ),
]

# Written forms that UTS 46 maps onto a name above: the check sees the name that gets registered.
MAPPED_SPELLINGS = [
    (f"P{CYRILLIC_CAPITAL_A}YPAL.COM", f"{PAYPAL_CYRILLIC}.com"),
    (f"\uff50{CYRILLIC_A}ypal\u3002com", f"{PAYPAL_CYRILLIC}.com"),  # fullwidth p, ideographic full stop
    ("XN--PYPAL-4VE.COM", f"{PAYPAL_CYRILLIC}.com"),
    (f"{PAYPAL_CYRILLIC}.com.", f"{PAYPAL_CYRILLIC}.com"),
]


def _punycode(name: str) -> str:
    """The name with every non-ASCII label in punycode, computed without the module under test."""
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in name.split(".")
    )


def _found(name: str) -> list[tuple[str, str, str]]:
    return [(found.label, found.ascii_label, found.script_summary) for found in mixed_script_labels(name)]


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_mixed_script_labels_names_each_failing_label_and_its_scripts(
    name: str, expected: list[tuple[str, str, str]]
) -> None:
    assert _found(name) == expected


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_a_name_in_punycode_passes_or_fails_like_its_unicode_form(
    name: str, expected: list[tuple[str, str, str]]
) -> None:
    assert _found(_punycode(name)) == expected


@pytest.mark.parametrize(("written", "name"), MAPPED_SPELLINGS)
def test_a_name_is_checked_in_the_form_that_gets_registered(written: str, name: str) -> None:
    assert _found(written) == _found(name) != []


def test_the_punycode_of_the_cyrillic_lookalike_fails() -> None:
    [found] = mixed_script_labels("xn--pypal-4ve.com")

    assert found.label == PAYPAL_CYRILLIC
    assert found.describe() == (
        f"label '{PAYPAL_CYRILLIC}' (xn--pypal-4ve) mixes scripts "
        f"(Latin: p, y, a; Cyrillic: {SHOWN_CYRILLIC_A}): write each label in a single script"
    )


def test_a_mixed_label_that_idna_also_rejects_is_still_reported_from_punycode() -> None:
    # Arabic next to Latin breaks the bidi rule, so idna.ulabel refuses it; the script check must not
    # be skipped for that reason.
    label = ARABIC_MITHAL + "abc"

    assert [found.label for found in mixed_script_labels(_punycode(f"{label}.com"))] == [label]


@pytest.mark.parametrize("name", ["xn--zz.com", "xn--99999999999.com", "acme.com", ""])
def test_a_label_that_is_not_punycode_is_left_to_the_domain_rules(name: str) -> None:
    assert mixed_script_labels(name) == []


def test_characters_used_by_several_scripts_are_grouped_under_all_of_them() -> None:
    # U+0640 ARABIC TATWEEL is Arabic and Syriac (and more); next to Cyrillic it fails.
    [found] = mixed_script_labels("\u043c\u0438\u0440\u0640.com")
    [cyrillic, tatweel] = found.scripts

    assert cyrillic.scripts == {"Cyrl"}
    assert {"Arab", "Syrc"} <= tatweel.scripts
    assert "Arabic" in tatweel.name and "Syriac" in tatweel.name and "/" in tatweel.name


def test_at_most_three_distinct_examples_are_given_per_script() -> None:
    [found] = mixed_script_labels(f"abcabcdef{CYRILLIC_A}.com")

    assert found.script_summary == f"Latin: a, b, c; Cyrillic: {SHOWN_CYRILLIC_A}"


FULLWIDTH_ACME = "\uff41\uff43\uff4d\uff45"
FULLWIDTH_CAPITAL_A = "\uff21"
FULLWIDTH_P = "\uff50"
LIGATURE_FI = "\ufb01"
REGISTERED_PAYPAL = f"registered as xn--pypal-4ve.com (Unicode {PAYPAL_CYRILLIC}.com)"

# (written, canonical or None to ask normalize_domain, expected describe() or None).
NORMALIZATIONS: list[tuple[str, str | None, str | None]] = [
    ("ACME.com", None, None),
    ("acme.com", None, None),
    ("acme.com.", "acme.com", None),
    ("BÜCHER.de", None, None),
    ("bücher.de", None, None),
    ("xn--bcher-kva.de", None, None),
    ("XN--BCHER-KVA.DE", None, None),
    ("straße.de", None, None),  # nontransitional UTS 46 keeps ß
    ("STRAẞE.de", None, None),  # capital sharp s is the case of ß
    ("\u212acme.com", None, None),  # KELVIN SIGN lowercases to k
    ("bu\u0308cher.de", None, None),  # decomposed ü: composition is not a visible change
    ("xn--pypal-4ve.com", None, None),  # written as it is registered
    (
        "acme\u200b.com",
        None,
        "'acme\\u200b.com' is registered as acme.com: removed U+200B ZERO WIDTH SPACE",
    ),
    ("ac\u00adme.com", None, "'ac\\xadme.com' is registered as acme.com: removed U+00AD SOFT HYPHEN"),
    (
        "ac\u200bme\u00ad\u200b.com",
        None,
        "'ac\\u200bme\\xad\\u200b.com' is registered as acme.com: "
        "removed U+200B ZERO WIDTH SPACE, U+00AD SOFT HYPHEN",
    ),
    (
        f"{FULLWIDTH_ACME}.com",
        None,
        f"'{FULLWIDTH_ACME}.com' is registered as acme.com: "
        "mapped U+FF41 FULLWIDTH LATIN SMALL LETTER A -> a, U+FF43 FULLWIDTH LATIN SMALL LETTER C -> c, "
        "U+FF4D FULLWIDTH LATIN SMALL LETTER M -> m, U+FF45 FULLWIDTH LATIN SMALL LETTER E -> e",
    ),
    (
        f"{FULLWIDTH_CAPITAL_A * 2}.com",
        None,
        f"'{FULLWIDTH_CAPITAL_A * 2}.com' is registered as aa.com: "
        "mapped U+FF21 FULLWIDTH LATIN CAPITAL LETTER A -> a",
    ),
    (
        f"{LIGATURE_FI}le.com",
        None,
        f"'{LIGATURE_FI}le.com' is registered as file.com: mapped U+FB01 LATIN SMALL LIGATURE FI -> fi",
    ),
    (
        f"{LIGATURE_FI}\u200bsh.com",
        None,
        f"'{LIGATURE_FI}\\u200bsh.com' is registered as fish.com: removed U+200B ZERO WIDTH SPACE; "
        "mapped U+FB01 LATIN SMALL LIGATURE FI -> fi",
    ),
    (
        "acme\u3002com",
        None,
        "'acme\u3002com' is registered as acme.com: mapped U+3002 IDEOGRAPHIC FULL STOP -> .",
    ),
    (
        "bücher\u200b.de",
        None,
        "'bücher\\u200b.de' is registered as xn--bcher-kva.de (Unicode bücher.de): "
        "removed U+200B ZERO WIDTH SPACE",
    ),
    # A look-alike written in Unicode: nothing was mapped, but its punycode is the only honest form.
    (f"{PAYPAL_CYRILLIC}.com", None, f"'{PAYPAL_CYRILLIC}.com' is {REGISTERED_PAYPAL}"),
    (f"P{CYRILLIC_CAPITAL_A}YPAL.com", None, f"'P{CYRILLIC_CAPITAL_A}YPAL.com' is {REGISTERED_PAYPAL}"),
    (
        f"{FULLWIDTH_P}{CYRILLIC_A}ypal.com",
        None,
        f"'{FULLWIDTH_P}{CYRILLIC_A}ypal.com' is {REGISTERED_PAYPAL}: "
        "mapped U+FF50 FULLWIDTH LATIN SMALL LETTER P -> p",
    ),
]


@pytest.mark.parametrize(("written", "canonical", "expected"), NORMALIZATIONS)
def test_describe_normalization_says_what_the_registered_name_lost_or_gained(
    written: str, canonical: str | None, expected: str | None
) -> None:
    registered = normalize_domain(written) if canonical is None else canonical

    change = describe_normalization(written, registered)

    assert (change.describe() if change else None) == expected


def test_a_name_change_lists_the_code_points_and_both_forms() -> None:
    written = f"\uff30\u00ad{CYRILLIC_A}ypal.com"

    change = describe_normalization(written, "xn--pypal-4ve.com")

    assert change == NameChange(
        written=written,
        canonical="xn--pypal-4ve.com",
        unicode=f"{PAYPAL_CYRILLIC}.com",
        removed=("U+00AD SOFT HYPHEN",),
        mapped=("U+FF30 FULLWIDTH LATIN CAPITAL LETTER P -> p",),
    )


def test_a_canonical_name_that_is_not_the_written_one_is_reported_even_without_mapping() -> None:
    # Not something normalize_domain returns; the comparison still must not call it "case only".
    change = describe_normalization("acme.com", "acme.net")

    assert change is not None
    assert change.describe() == "'acme.com' is registered as acme.net"


@pytest.mark.parametrize(
    ("ch", "expected"),
    [
        (CYRILLIC_A, "U+0430 CYRILLIC SMALL LETTER A"),
        ("a", "U+0061 LATIN SMALL LETTER A"),
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\U0001d41a", "U+1D41A MATHEMATICAL BOLD SMALL A"),
        ("\u0378", "U+0378 <unnamed>"),
    ],
)
def test_format_code_point(ch: str, expected: str) -> None:
    assert format_code_point(ch) == expected


@pytest.mark.parametrize(
    ("code", "name"),
    [("Latn", "Latin"), ("Cyrl", "Cyrillic"), ("Cans", "Canadian Aboriginal"), ("Jpan", "Japanese")],
)
def test_script_names_for_messages(code: str, name: str) -> None:
    assert script_name(code) == name


@pytest.fixture(scope="module")
def every_code_point() -> str:
    """Every code point, surrogates included, as one string to search."""
    return "".join(map(chr, range(sys.maxunicode + 1)))


def test_every_script_of_the_installed_regex_is_listed(every_code_point: str) -> None:
    # Through regex's public syntax: a character that is neither Common, Inherited nor unassigned (Zzzz)
    # and in none of the listed scripts belongs to a script the list lacks. It would fail every check
    # as "Unknown": when this fails after a regex upgrade, add the script to _SCRIPT_NAMES.
    listed = "".join(rf"\p{{scx={code}}}" for code in ("Zyyy", "Zinh", "Zzzz", *SCRIPT_CODES))
    unlisted = regex.compile(rf"[^{listed}]").search(every_code_point)

    assert unlisted is None, format_code_point(unlisted.group())


def test_a_listed_script_the_installed_regex_does_not_know_is_left_out() -> None:
    codes = [code for code, _ in lookalikes._compile_script_patterns(["Latn", "Xzzq", "Cyrl"])]

    assert codes == ["Latn", "Cyrl"]


def test_the_english_names_spell_the_unicode_script_names(every_code_point: str) -> None:
    # A character's Script has one value: if the first character of script `code` is in script `name`
    # too, the name spells that very script (regex matches property names ignoring case and spaces).
    for code in SCRIPT_CODES:
        first = regex.compile(rf"\p{{sc={code}}}").search(every_code_point)
        assert first is not None, code
        assert regex.compile(rf"\p{{sc={script_name(code)}}}").match(first.group()), code


def test_ascii_needs_no_pattern_and_gets_the_scripts_the_patterns_give() -> None:
    every_script = lookalikes._every_script_pattern()
    for ch in map(chr, range(128)):
        expected = frozenset(code for code, pattern in lookalikes._script_patterns() if pattern.match(ch))
        assert lookalikes._is_every_script(ch) is bool(every_script.match(ch)), repr(ch)
        assert lookalikes._script_extensions(ch) == (frozenset() if every_script.match(ch) else expected), ch


LAZINESS = """
import sys
import provider.rules.lookalikes as lookalikes
assert "regex" not in sys.modules, "imported at import"
assert lookalikes.mixed_script_labels("acme-2.com") == []
assert "regex" not in sys.modules, "imported for an ASCII name"
assert lookalikes._script_patterns.cache_info().currsize == 0, "compiled for an ASCII name"
assert lookalikes.mixed_script_labels("p\u0430ypal.com")
assert lookalikes._script_patterns.cache_info().currsize == 1
"""


def test_nothing_is_compiled_at_import_nor_for_an_ascii_name() -> None:
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", LAZINESS], cwd=root, check=True)


def test_each_script_is_tested_once() -> None:
    # Two aliases of one script (Miao is also Plrd) would split its characters in messages.
    assert len({script_name(code) for code in SCRIPT_CODES}) == len(SCRIPT_CODES)
    assert "Plrd" in SCRIPT_CODES


def test_common_inherited_unknown_and_aliases_are_not_scripts_to_test() -> None:
    assert not {"Zyyy", "Zinh", "Zzzz", "Hrkt", "Qaac", "Qaai"} & set(SCRIPT_CODES)
    assert ALL_SCRIPTS == set(SCRIPT_CODES) | {"Hanb", "Jpan", "Kore"}


def test_an_unassigned_code_point_never_passes() -> None:
    assert not is_highly_restrictive("abc\u0378")
    assert label_scripts("\u0378") == NONE
