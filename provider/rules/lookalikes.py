"""Look-alike checks for domain names: mixed scripts in a label, and what UTS 46 mapping changed.

Two questions that ``provider.rules.domain_name.normalize_domain`` does not answer, because they are about
what a person sees rather than about what DNS accepts:

- Does a label mix scripts in a way that lets it pass for another name (``paypal`` written with
  U+0430 CYRILLIC SMALL LETTER A for its first ``a``)? ``is_highly_restrictive`` applies the
  "Highly Restrictive" level of Unicode Technical Standard #39, section 5.2, to one label;
  ``mixed_script_labels`` applies it to every label of a name and says which characters come from
  which script.
- Is the name that gets registered the one that was written? ``describe_normalization`` compares the
  written value with its canonical form and names the code points that UTS 46 removed or replaced
  (zero width space, soft hyphen, fullwidth letters, ligatures).

Scripts are identified by their ISO 15924 codes (``Latn``, ``Cyrl``, ``Hani``), the notation UTS 39
uses, plus its three augmented codes ``Hanb`` (Han with Bopomofo), ``Jpan`` and ``Kore``;
``script_name`` turns a code into an English name for messages.

Where the scripts come from: ``_SCRIPT_NAMES`` lists them (the 175 scripts that ``regex`` 2026.11.19
knows, with their English names), and the installed ``regex`` answers, through its public pattern syntax
only (``\\p{scx=Latn}``), which of them each character belongs to (Script_Extensions); a listed script
that an older ``regex`` does not know is left out. A character of a script newer than the list belongs
to no listed script, so a label holding one fails the check, as an unassigned character does: when
``regex`` is upgraded to a newer Unicode, add its new scripts to the list
(``tests/provider/test_lookalikes.py`` fails until then).

Nothing is compiled at import: the ``\\p{scx=...}`` patterns (one per script, tens of milliseconds in
all) are compiled the first time a character outside ASCII is checked, and ``regex`` is imported then.
ASCII characters need none of them: letters are Latin, everything else is Common.

Only the standard library, ``regex`` and ``idna`` are used, like ``provider.rules.domain_name``: the
checks must be usable without the Pulumi SDK.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import idna

if TYPE_CHECKING:
    import regex

__all__ = [
    "ALL_SCRIPTS",
    "SCRIPT_CODES",
    "MixedScriptLabel",
    "NameChange",
    "ScriptSample",
    "describe_normalization",
    "format_code_point",
    "is_highly_restrictive",
    "label_scripts",
    "mixed_script_labels",
    "script_name",
]

COMMON = "Zyyy"
INHERITED = "Zinh"
HAN_WITH_BOPOMOFO = "Hanb"
JAPANESE = "Jpan"
KOREAN = "Kore"

_AUGMENTED_NAMES = {
    HAN_WITH_BOPOMOFO: "Han with Bopomofo",
    JAPANESE: "Japanese",
    KOREAN: "Korean",
}

# Every script a character can be "in" for UTS 39, keyed by ISO 15924 code, with its English name (Unicode's
# Script property value alias, underscores as spaces) for messages. Left out on purpose: Common (Zyyy) and
# Inherited (Zinh), which count as every script; Unknown (Zzzz, unassigned code points), so that a label
# containing one never passes; Hrkt (Katakana_Or_Hiragana), an alias no character carries (UTS 39 uses Hira
# and Kana); and the private-use aliases Qaac and Qaai (of Coptic and Inherited).
_SCRIPT_NAMES = {
    "Adlm": "Adlam",
    "Aghb": "Caucasian Albanian",
    "Ahom": "Ahom",
    "Arab": "Arabic",
    "Armi": "Imperial Aramaic",
    "Armn": "Armenian",
    "Avst": "Avestan",
    "Bali": "Balinese",
    "Bamu": "Bamum",
    "Bass": "Bassa Vah",
    "Batk": "Batak",
    "Beng": "Bengali",
    "Berf": "Beria Erfe",
    "Bhks": "Bhaiksuki",
    "Bopo": "Bopomofo",
    "Brah": "Brahmi",
    "Brai": "Braille",
    "Bugi": "Buginese",
    "Buhd": "Buhid",
    "Cakm": "Chakma",
    "Cans": "Canadian Aboriginal",
    "Cari": "Carian",
    "Cham": "Cham",
    "Cher": "Cherokee",
    "Chrs": "Chorasmian",
    "Copt": "Coptic",
    "Cpmn": "Cypro Minoan",
    "Cprt": "Cypriot",
    "Cyrl": "Cyrillic",
    "Deva": "Devanagari",
    "Diak": "Dives Akuru",
    "Dogr": "Dogra",
    "Dsrt": "Deseret",
    "Dupl": "Duployan",
    "Egyp": "Egyptian Hieroglyphs",
    "Elba": "Elbasan",
    "Elym": "Elymaic",
    "Ethi": "Ethiopic",
    "Gara": "Garay",
    "Geor": "Georgian",
    "Glag": "Glagolitic",
    "Gong": "Gunjala Gondi",
    "Gonm": "Masaram Gondi",
    "Goth": "Gothic",
    "Gran": "Grantha",
    "Grek": "Greek",
    "Gujr": "Gujarati",
    "Gukh": "Gurung Khema",
    "Guru": "Gurmukhi",
    "Hang": "Hangul",
    "Hani": "Han",
    "Hano": "Hanunoo",
    "Hatr": "Hatran",
    "Hebr": "Hebrew",
    "Hira": "Hiragana",
    "Hluw": "Anatolian Hieroglyphs",
    "Hmng": "Pahawh Hmong",
    "Hmnp": "Nyiakeng Puachue Hmong",
    "Hung": "Old Hungarian",
    "Ital": "Old Italic",
    "Java": "Javanese",
    "Jurc": "Jurchen",
    "Kali": "Kayah Li",
    "Kana": "Katakana",
    "Kawi": "Kawi",
    "Khar": "Kharoshthi",
    "Khmr": "Khmer",
    "Khoj": "Khojki",
    "Kits": "Khitan Small Script",
    "Knda": "Kannada",
    "Krai": "Kirat Rai",
    "Kthi": "Kaithi",
    "Lana": "Tai Tham",
    "Laoo": "Lao",
    "Latn": "Latin",
    "Lepc": "Lepcha",
    "Limb": "Limbu",
    "Lina": "Linear A",
    "Linb": "Linear B",
    "Lisu": "Lisu",
    "Lyci": "Lycian",
    "Lydi": "Lydian",
    "Mahj": "Mahajani",
    "Maka": "Makasar",
    "Mand": "Mandaic",
    "Mani": "Manichaean",
    "Marc": "Marchen",
    "Medf": "Medefaidrin",
    "Mend": "Mende Kikakui",
    "Merc": "Meroitic Cursive",
    "Mero": "Meroitic Hieroglyphs",
    "Mlym": "Malayalam",
    "Modi": "Modi",
    "Mong": "Mongolian",
    "Mroo": "Mro",
    "Mtei": "Meetei Mayek",
    "Mult": "Multani",
    "Mymr": "Myanmar",
    "Nagm": "Nag Mundari",
    "Nand": "Nandinagari",
    "Narb": "Old North Arabian",
    "Nbat": "Nabataean",
    "Newa": "Newa",
    "Nkoo": "Nko",
    "Nshu": "Nushu",
    "Ogam": "Ogham",
    "Olck": "Ol Chiki",
    "Onao": "Ol Onal",
    "Orkh": "Old Turkic",
    "Orya": "Oriya",
    "Osge": "Osage",
    "Osma": "Osmanya",
    "Ougr": "Old Uyghur",
    "Palm": "Palmyrene",
    "Pauc": "Pau Cin Hau",
    "Pcun": "Proto Cuneiform",
    "Perm": "Old Permic",
    "Phag": "Phags Pa",
    "Phli": "Inscriptional Pahlavi",
    "Phlp": "Psalter Pahlavi",
    "Phnx": "Phoenician",
    "Plrd": "Miao",
    "Prti": "Inscriptional Parthian",
    "Rjng": "Rejang",
    "Rohg": "Hanifi Rohingya",
    "Runr": "Runic",
    "Samr": "Samaritan",
    "Sarb": "Old South Arabian",
    "Saur": "Saurashtra",
    "Seal": "Seal",
    "Sgnw": "SignWriting",
    "Shaw": "Shavian",
    "Shrd": "Sharada",
    "Sidd": "Siddham",
    "Sidt": "Sidetic",
    "Sind": "Khudawadi",
    "Sinh": "Sinhala",
    "Sogd": "Sogdian",
    "Sogo": "Old Sogdian",
    "Sora": "Sora Sompeng",
    "Soyo": "Soyombo",
    "Sund": "Sundanese",
    "Sunu": "Sunuwar",
    "Sylo": "Syloti Nagri",
    "Syrc": "Syriac",
    "Tagb": "Tagbanwa",
    "Takr": "Takri",
    "Tale": "Tai Le",
    "Talu": "New Tai Lue",
    "Taml": "Tamil",
    "Tang": "Tangut",
    "Tavt": "Tai Viet",
    "Tayo": "Tai Yo",
    "Telu": "Telugu",
    "Tfng": "Tifinagh",
    "Tglg": "Tagalog",
    "Thaa": "Thaana",
    "Thai": "Thai",
    "Tibt": "Tibetan",
    "Tirh": "Tirhuta",
    "Tnsa": "Tangsa",
    "Todr": "Todhri",
    "Tols": "Tolong Siki",
    "Toto": "Toto",
    "Tutg": "Tulu Tigalari",
    "Ugar": "Ugaritic",
    "Vaii": "Vai",
    "Vith": "Vithkuqi",
    "Wara": "Warang Citi",
    "Wcho": "Wancho",
    "Xpeo": "Old Persian",
    "Xsux": "Cuneiform",
    "Yezi": "Yezidi",
    "Yiii": "Yi",
    "Zanb": "Zanabazar Square",
}

# The scripts that may be combined with Latin in a Highly Restrictive label (UTS 39 section 5.2),
# written with the augmented codes, so that "Latin + Han + Hiragana + Katakana" is {Latn, Jpan}.
_HIGHLY_RESTRICTIVE_COVERS = (
    frozenset({"Latn", JAPANESE}),
    frozenset({"Latn", HAN_WITH_BOPOMOFO}),
    frozenset({"Latn", KOREAN}),
)

_EXAMPLES_PER_SCRIPT = 3
_ROOT_DOT = "."
# The full stops UTS 46 maps to ".", for names it refuses to map.
_IDEOGRAPHIC_DOTS = re.compile("[\u3002\uff0e\uff61]")


def _compile_script_patterns(codes: Iterable[str]) -> tuple[tuple[str, regex.Pattern[str]], ...]:
    """``(code, \\p{scx=code})`` for each of ``codes`` that the installed ``regex`` knows, in order."""
    import regex  # here, not at the top: only a character outside ASCII needs it (see the docstring)

    patterns = []
    for code in codes:
        try:
            patterns.append((code, regex.compile(rf"\p{{scx={code}}}")))
        except regex.error:
            pass  # a script newer than the installed regex: none of its characters can be told apart
    return tuple(patterns)


@functools.cache
def _script_patterns() -> tuple[tuple[str, regex.Pattern[str]], ...]:
    """The pattern of every listed script, compiled on first use."""
    return _compile_script_patterns(sorted(_SCRIPT_NAMES))


@functools.cache
def _every_script_pattern() -> regex.Pattern[str]:
    """Characters whose Script_Extensions is Common or Inherited."""
    import regex

    return regex.compile(rf"[\p{{scx={COMMON}}}\p{{scx={INHERITED}}}]")


@functools.cache
def _script_codes() -> tuple[str, ...]:
    return tuple(code for code, _ in _script_patterns())


@functools.cache
def _all_scripts() -> frozenset[str]:
    return frozenset(_script_codes()) | frozenset(_AUGMENTED_NAMES)


if TYPE_CHECKING:
    SCRIPT_CODES: tuple[str, ...]
    """The ISO 15924 codes of the scripts each character is tested for (Common and Inherited excluded)."""

    ALL_SCRIPTS: frozenset[str]
    """UTS 39's "ALL": the resolved script set of a label made only of Common and Inherited characters."""


def __getattr__(name: str) -> object:
    """``SCRIPT_CODES`` and ``ALL_SCRIPTS``, computed on first access: they need the compiled patterns."""
    if name == "SCRIPT_CODES":
        return _script_codes()
    if name == "ALL_SCRIPTS":
        return _all_scripts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def script_name(code: str) -> str:
    """Return the English name of an ISO 15924 script code (``Cyrl`` -> ``Cyrillic``), for messages."""
    return _AUGMENTED_NAMES.get(code) or _SCRIPT_NAMES.get(code) or code


def format_code_point(ch: str) -> str:
    """Return ``ch`` as ``U+XXXX NAME`` (``U+0430 CYRILLIC SMALL LETTER A``), or ``U+XXXX <unnamed>``.

    ``ch`` must be a single character. Names come from Python's Unicode database, which may be older
    than the one ``regex`` and ``idna`` use, hence the placeholder for recently assigned characters.
    """
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '<unnamed>')}"


_LATIN = frozenset({"Latn"})


@functools.lru_cache(maxsize=4096)
def _script_extensions(ch: str) -> frozenset[str]:
    """The Script_Extensions of ``ch`` as ISO codes; empty for Common, Inherited and unassigned."""
    if _is_every_script(ch):
        return frozenset()
    if ch.isascii():
        return _LATIN
    return frozenset(code for code, pattern in _script_patterns() if pattern.match(ch))


def _is_every_script(ch: str) -> bool:
    """True when UTS 39 counts ``ch`` as belonging to every script (Script_Extensions Common or Inherited)."""
    if ch.isascii():
        return not ch.isalpha()  # ASCII letters are Latin; every other ASCII character is Common
    return bool(_every_script_pattern().match(ch))


def _augmented(scripts: frozenset[str]) -> frozenset[str]:
    """Add UTS 39's augmented scripts: Han gives Hanb, Jpan, Kore; kana Jpan; Hangul Kore; Bopomofo Hanb."""
    extra: set[str] = set()
    if "Hani" in scripts:
        extra |= {HAN_WITH_BOPOMOFO, JAPANESE, KOREAN}
    if "Hira" in scripts or "Kana" in scripts:
        extra.add(JAPANESE)
    if "Hang" in scripts:
        extra.add(KOREAN)
    if "Bopo" in scripts:
        extra.add(HAN_WITH_BOPOMOFO)
    return scripts | extra


def _augmented_sets(label: str) -> list[frozenset[str]]:
    """The augmented script set of every character that is not Common or Inherited."""
    return [_augmented(_script_extensions(ch)) for ch in label if not _is_every_script(ch)]


def _decode_punycode(label: str) -> str | None:
    """The Unicode text of an ``xn--`` label, or None when the label is not ``xn--`` or not punycode.

    The bare punycode codec, not ``idna.ulabel``: IDNA validity (bidi, joiners, NFC) is
    ``normalize_domain``'s question, and a label that breaks one of those rules must not escape the
    script check by failing to decode here.
    """
    if label[:4].lower() != "xn--":
        return None
    try:
        return label[4:].lower().encode("ascii").decode("punycode")
    except UnicodeError:
        return None


def _unicode_label(label: str) -> str:
    """Decode an ``xn--`` label so that its real characters are checked, not its ASCII disguise."""
    decoded = _decode_punycode(label)
    return label if decoded is None else decoded


def label_scripts(label: str) -> frozenset[str]:
    """Return the resolved script set of one domain label (UTS 39 section 5.1), as ISO 15924 codes.

    The intersection of the augmented Script_Extensions of its characters, with Common and Inherited
    characters (digits, the hyphen, most combining marks) counting as every script. A label of only
    such characters resolves to ``ALL_SCRIPTS``; a label that mixes scripts resolves to the empty set
    (it may still be Highly Restrictive, such as Latin with Han). An ``xn--`` label is decoded first.
    """
    resolved = _all_scripts()
    for scripts in _augmented_sets(_unicode_label(label)):
        resolved &= scripts
    return resolved


def is_highly_restrictive(label: str) -> bool:
    """Tell whether one domain label meets UTS 39's "Highly Restrictive" level (section 5.2).

    True when the label is Single Script (its resolved script set is not empty) or when every
    character shares a script with one of Latin + Han + Hiragana + Katakana, Latin + Han + Bopomofo or
    Latin + Han + Hangul. Only the script rule is applied; the character repertoire is IDNA's business.
    An ``xn--`` label is decoded first.
    """
    character_sets = _augmented_sets(_unicode_label(label))
    if not character_sets or functools.reduce(frozenset.__and__, character_sets):
        return True
    return any(all(cover & scripts for scripts in character_sets) for cover in _HIGHLY_RESTRICTIVE_COVERS)


@dataclass(frozen=True)
class ScriptSample:
    """The characters of a failing label that come from one script (or one set of scripts)."""

    scripts: frozenset[str]
    """The ISO 15924 codes these characters share (their Script_Extensions, not augmented)."""

    characters: tuple[str, ...]
    """Up to three distinct examples, in the order they appear in the label."""

    @property
    def name(self) -> str:
        """The scripts' English names, joined with ``/`` for characters used by several scripts."""
        if not self.scripts:
            return "Unknown"
        return "/".join(sorted(script_name(code) for code in self.scripts))

    def describe(self) -> str:
        """``Latin: p, y, a`` or ``Cyrillic: \u0430 (U+0430 CYRILLIC SMALL LETTER A)``."""
        shown = [ch if ch.isascii() else f"{ch} ({format_code_point(ch)})" for ch in self.characters]
        return f"{self.name}: {', '.join(shown)}"


@dataclass(frozen=True)
class MixedScriptLabel:
    """One label of a domain name that fails UTS 39's Highly Restrictive level."""

    label: str
    """The label in Unicode, as a person reads it (``p\u0430ypal``)."""

    ascii_label: str
    """The label's punycode form, as DNS and the API store it (``xn--pypal-4ve``)."""

    scripts: tuple[ScriptSample, ...]
    """The scripts found in the label, in order of first appearance, with example characters."""

    @property
    def script_summary(self) -> str:
        """``Latin: p, y, a; Cyrillic: \u0430 (U+0430 CYRILLIC SMALL LETTER A)``."""
        return "; ".join(sample.describe() for sample in self.scripts)

    def describe(self) -> str:
        """One sentence for the user: the label, its punycode form, the scripts and what to do."""
        return (
            f"label {self.label!r} ({self.ascii_label}) mixes scripts ({self.script_summary}): "
            "write each label in a single script"
        )


def _script_samples(label: str) -> tuple[ScriptSample, ...]:
    """Group the label's characters by their Script_Extensions, keeping a few examples of each."""
    examples: dict[frozenset[str], list[str]] = {}
    for ch in label:
        if _is_every_script(ch):
            continue
        found = examples.setdefault(_script_extensions(ch), [])
        if ch not in found and len(found) < _EXAMPLES_PER_SCRIPT:
            found.append(ch)
    return tuple(ScriptSample(scripts, tuple(characters)) for scripts, characters in examples.items())


def _ascii_label(label: str) -> str:
    """The punycode form of a Unicode label, even when IDNA would reject the label for other reasons."""
    if label.isascii():
        return label
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # Other rules (bidi, joiners, length) are normalize_domain's to enforce; still name the label.
        return "xn--" + label.encode("punycode").decode("ascii")


def _split_labels(name: str) -> list[str]:
    """Map ``name`` with UTS 46 where possible (case, fullwidth, ideographic dots) and split it."""
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError):
        mapped = _IDEOGRAPHIC_DOTS.sub(".", name)
    return mapped.split(".")


def mixed_script_labels(name: str) -> list[MixedScriptLabel]:
    """Return the labels of ``name`` that fail UTS 39's Highly Restrictive level, in order.

    ``name`` may be written in Unicode or punycode: ``xn--`` labels are decoded, and one that does not
    decode is skipped (whether it is valid is ``normalize_domain``'s question). An empty list means
    every label passes.
    """
    failing: list[MixedScriptLabel] = []
    for written_label in _split_labels(name):
        if not written_label:
            continue
        label = _decode_punycode(written_label)
        if label is None:
            if written_label[:4].lower() == "xn--":
                continue
            label = written_label
        if not is_highly_restrictive(label):
            failing.append(MixedScriptLabel(label, _ascii_label(label), _script_samples(label)))
    return failing


@dataclass(frozen=True)
class NameChange:
    """How the registered form of a domain name differs from the name as written."""

    written: str
    """The value as the user wrote it."""

    canonical: str
    """The name the API registers: ASCII, punycode for Unicode labels."""

    unicode: str
    """The canonical name with its punycode labels decoded, as a person reads it."""

    removed: tuple[str, ...]
    """Code points UTS 46 maps to nothing, as ``U+200B ZERO WIDTH SPACE``, in order of appearance."""

    mapped: tuple[str, ...]
    """Code points UTS 46 replaces, beyond case, as ``U+FF41 FULLWIDTH LATIN SMALL LETTER A -> a``."""

    def describe(self) -> str:
        """One sentence: what gets registered, and which written characters were dropped or replaced."""
        sentence = f"{self.written!r} is registered as {self.canonical}"
        if self.unicode != self.canonical:
            sentence += f" (Unicode {self.unicode})"
        changes = []
        if self.removed:
            changes.append("removed " + ", ".join(self.removed))
        if self.mapped:
            changes.append("mapped " + ", ".join(self.mapped))
        if changes:
            sentence += ": " + "; ".join(changes)
        return sentence


def _without_root_dot(name: str) -> str:
    return name[: -len(_ROOT_DOT)] if name.endswith(_ROOT_DOT) else name


def _to_unicode(name: str) -> str:
    """Decode the ``xn--`` labels of ``name``; a label that does not decode is kept as written."""
    return ".".join(_unicode_label(label) for label in name.split("."))


def _remap_character(ch: str) -> str:
    """What UTS 46 (nontransitional, STD3 rules) makes of ``ch`` alone; a rejected character is kept."""
    try:
        return idna.uts46_remap(ch, std3_rules=True, transitional=False)
    except (idna.IDNAError, ValueError):
        return ch


def _is_case_change(ch: str, result: str) -> bool:
    """True when ``result`` is only the lowercase or case-folded form of ``ch``.

    Case folding alone would also accept ligatures (``ﬁ`` folds to ``fi``), so characters with a
    compatibility decomposition (``<compat>``, ``<wide>``...) never count as a case change.
    """
    if unicodedata.decomposition(ch).startswith("<"):
        return False
    return result in (ch.lower(), ch.casefold())


def _character_changes(written: str) -> tuple[list[str], list[str]]:
    """The written code points UTS 46 removes, and those it maps to something other than their case."""
    removed: list[str] = []
    mapped: list[str] = []
    for ch in dict.fromkeys(written):
        result = _remap_character(ch)
        if result == ch or _is_case_change(ch, result):
            continue
        if not result:
            removed.append(format_code_point(ch))
        else:
            shown = result if result.isprintable() else " ".join(f"U+{ord(c):04X}" for c in result)
            mapped.append(f"{format_code_point(ch)} -> {shown}")
    return removed, mapped


def _same_ignoring_case(first: str, second: str) -> bool:
    def fold(text: str) -> str:
        return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())

    return fold(first) == fold(second)


def describe_normalization(written: str, canonical: str) -> NameChange | None:
    """Say how ``canonical`` (what ``normalize_domain(written)`` returned) differs from ``written``.

    None when nothing a user would notice changed: only ASCII or Unicode case, a trailing dot, or
    Unicode composition, or the Unicode name written as its own punycode. Otherwise a ``NameChange``
    that lists the code points UTS 46 removed or replaced. A name that was written in Unicode and has a
    label failing UTS 39's Highly Restrictive level is always reported, even without any such change,
    because its Unicode form is the disguise and only its punycode form shows what is registered.
    """
    written_name = _without_root_dot(written)
    canonical_name = _without_root_dot(canonical)
    unicode_name = _to_unicode(canonical_name)
    removed, mapped = _character_changes(written_name)
    if not removed and not mapped and _same_ignoring_case(_to_unicode(written_name), unicode_name):
        if written_name.isascii() or not mixed_script_labels(canonical_name):
            return None
    return NameChange(
        written=written,
        canonical=canonical_name,
        unicode=unicode_name,
        removed=tuple(removed),
        mapped=tuple(mapped),
    )
