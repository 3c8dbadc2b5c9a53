"""Handle normalization: the one definition of "the same handle".

Used for stored query-log rows and for identifiers in legal process alike, so a
request for "+1 (415) 555-0100" finds rows logged as "+14155550100". The rules are
strict on purpose: an input that could mean two things is rejected with a reason,
never guessed at, because a wrong guess discloses someone else's records.

- phone numbers: parsed with ``phonenumbers`` in a default region, must be valid,
  stored as E.164;
- email addresses: trimmed, lower-cased, domain IDNA-encoded (UTS #46);
- anything mixing scripts inside one label, or built from look-alike letters of
  another script, or carrying invisible or compatibility characters, is rejected.
"""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import idna
import phonenumbers
from django.conf import settings

HandleKind = Literal["phone", "email"]

_PHONE_PUNCTUATION = frozenset(" -.()/")
MAX_HANDLE_LENGTH = 320

# Letters of other scripts that render like Latin letters. A label written only in
# these (e.g. Cyrillic "ѕео") is a whole-script confusable of a Latin name: rejected.
_LATIN_LOOKALIKES = frozenset(
    "аеорсухѕіјԁԛԝӏһ"  # Cyrillic
    "АВЕКМНОРСТУХЅІЈ"
    "αονρτυχικεΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"  # Greek
)
# Scripts that legitimately appear together in one label (UTS #39 "highly restrictive").
_COMPATIBLE_SCRIPT_SETS = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)


class HandleError(ValueError):
    """The input is not a handle we can identify exactly. ``str(err)`` says why."""


@dataclass(frozen=True, slots=True)
class Handle:
    normalized: str
    kind: HandleKind


def normalize_handle(raw: str, *, region: str | None = None) -> Handle:
    """Return the canonical form of a phone number or email address.

    ``region`` reads national-format numbers (e.g. the agency's country); it defaults
    to ``LOOKUPS_DEFAULT_REGION``. Raises ``HandleError`` naming what is wrong.
    Idempotent: normalizing a normalized handle returns it unchanged.
    """
    return _normalize_cached(raw, (region or settings.LOOKUPS_DEFAULT_REGION).upper())


@lru_cache(maxsize=262_144)
def _normalize_cached(raw: str, region: str) -> Handle:
    if not isinstance(raw, str):
        raise HandleError("must be a string")
    value = raw.strip()
    if not value:
        raise HandleError("is empty")
    if len(value) > MAX_HANDLE_LENGTH:
        raise HandleError(f"is longer than {MAX_HANDLE_LENGTH} characters")
    _reject_invisible_and_compatibility(value)
    if "@" in value:
        return Handle(_normalize_email(value), "email")
    return Handle(_normalize_phone(value, region), "phone")


def _reject_invisible_and_compatibility(value: str) -> None:
    for char in value:
        category = unicodedata.category(char)
        if category in {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}:
            raise HandleError(f"contains an invisible or control character (U+{ord(char):04X})")
        if category == "Zs" and char != " ":
            raise HandleError(f"contains an unusual space character (U+{ord(char):04X})")
    if unicodedata.normalize("NFKC", value) != value:
        raise HandleError(
            "contains compatibility characters (full-width, styled or composed letters); "
            "send the plain form"
        )


def _normalize_phone(value: str, region: str) -> str:
    for char in value:
        if char.isdigit() and not char.isascii():
            raise HandleError("phone numbers must use ASCII digits 0-9")
        if not (char.isdigit() or char in _PHONE_PUNCTUATION or char == "+"):
            raise HandleError(
                f"is neither an email address nor a phone number (unexpected {char!r})"
            )
    if value.count("+") > 1 or ("+" in value and not value.startswith("+")):
        raise HandleError("a phone number may have one leading '+' only")
    digits = sum(char.isdigit() for char in value)
    if digits < 5:
        raise HandleError("is too short to be a phone number")
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise HandleError(f"is not a phone number: {exc._msg}") from exc
    if not phonenumbers.is_valid_number(number):
        where = "" if value.startswith("+") else f" in region {region}"
        raise HandleError(f"is not a valid phone number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalize_email(value: str) -> str:
    if any(char.isspace() for char in value):
        raise HandleError("an email address cannot contain spaces")
    if value.count("@") != 1:
        raise HandleError("an email address has exactly one '@'")
    local, domain = value.split("@")
    if not local:
        raise HandleError("the email address has nothing before '@'")
    if len(local.encode("utf-8")) > 64:
        raise HandleError("the part before '@' is longer than 64 bytes")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise HandleError("the part before '@' has a misplaced dot")
    if any(char in local for char in '"(),:;<>[\\]'):
        raise HandleError("the part before '@' contains characters not allowed unquoted")
    _check_scripts(local, part="the part before '@'")
    ascii_domain = _encode_domain(domain)
    return f"{local.lower()}@{ascii_domain}"


def _encode_domain(domain: str) -> str:
    if not domain:
        raise HandleError("the email address has no domain after '@'")
    labels = domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(labels):
        raise HandleError("the email domain must have at least two non-empty labels")
    for label in labels:
        if label.lower().startswith("xn--"):
            try:
                label = idna.decode(label)
            except idna.IDNAError as exc:
                raise HandleError(f"the email domain label {label!r} is not valid: {exc}") from exc
        _check_scripts(label, part=f"the domain label {label!r}")
    try:
        encoded = idna.encode(domain.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise HandleError(f"the email domain is not a valid domain name: {exc}") from exc
    return encoded.lower()


def _script_of(char: str) -> str | None:
    """The Unicode script of a letter (by its character name), or None for non-letters."""
    if not char.isalpha():
        return None
    if char.isascii():
        return "LATIN"
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0]
    if first == "CJK":
        return "HAN"
    return first or "UNKNOWN"


def _check_scripts(text: str, *, part: str) -> None:
    scripts = {script for char in text if (script := _script_of(char))}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _COMPATIBLE_SCRIPT_SETS):
        names = " and ".join(sorted(s.title() for s in scripts))
        raise HandleError(f"{part} mixes {names} letters (a look-alike of another address?)")
    letters = [char for char in text if char.isalpha()]
    if (
        scripts
        and scripts != {"LATIN"}
        and letters
        and all(c in _LATIN_LOOKALIKES for c in letters)
    ):
        raise HandleError(
            f"{part} is written in {next(iter(scripts)).title()} letters that look like Latin "
            "ones (a look-alike of another address?)"
        )
