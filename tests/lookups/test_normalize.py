import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookups.normalize import HandleError, normalize_handle


@pytest.mark.parametrize(
    "raw",
    ["+1 (415) 555-0100", "415.555.0100", "+14155550100", "(415) 555-0100", " 415-555-0100 "],
)
def test_spellings_of_one_us_number_are_one_handle(raw: str) -> None:
    handle = normalize_handle(raw, region="US")
    assert handle.normalized == "+14155550100"
    assert handle.kind == "phone"


def test_national_number_is_read_in_the_given_region() -> None:
    assert normalize_handle("07911 123456", region="GB").normalized == "+447911123456"
    assert normalize_handle("030 123456", region="DE").normalized == "+4930123456"


def test_international_number_ignores_region() -> None:
    assert normalize_handle("+44 7911 123456", region="US").normalized == "+447911123456"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Target@Example.com", "target@example.com"),
        ("  TARGET@EXAMPLE.COM ", "target@example.com"),
        ("user@Bücher.example", "user@xn--bcher-kva.example"),
        ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
        ("иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),
        ("Müller@Example.de", "müller@example.de"),
        ("kenji@メール.テスト", "kenji@xn--4dkua4c.xn--zckzah"),  # ー is Japanese, not a mix
    ],
)
def test_email_vectors(raw: str, expected: str) -> None:
    handle = normalize_handle(raw)
    assert handle.normalized == expected
    assert handle.kind == "email"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("415-555-010", "not a valid phone number"),
        ("+1 415 555 01000000", "not a valid phone number"),
        ("1-800-FLOWERS", "neither an email address nor a phone number"),
        ("+1 415 555 0100 ext 12", "neither"),
        ("+1+4155550100", "one leading '+'"),
        ("٤١٥٥٥٥٠١٠٠", "ASCII digits"),
        ("user@@example.com", "exactly one '@'"),
        ("@example.com", "nothing before '@'"),
        ("user@", "no domain"),
        ("user@localhost", "two non-empty labels"),
        ("us er@example.com", "spaces"),
        ("user..x@example.com", "misplaced dot"),
        ("ѕupport@example.com", "mixes Cyrillic and Latin"),  # Cyrillic dze
        ("support@exаmple.com", "mixes Cyrillic and Latin"),  # Cyrillic a
        ("support@аре.com", "look like Latin"),  # whole-script Cyrillic look-alike
        ("ѕео@example.com", "look like Latin"),
        ("ｕｓｅｒ@example.com", "compatibility characters"),
        ("user\u200b@example.com", "invisible"),
        ("user@exa mple.com", "spaces"),
        ("just-text", "neither"),
    ],
)
def test_rejections_say_what_is_wrong(raw: str, reason: str) -> None:
    with pytest.raises(HandleError, match=re.escape(reason)):
        normalize_handle(raw, region="US")


def test_look_alike_is_never_folded_to_the_latin_address() -> None:
    with pytest.raises(HandleError):
        normalize_handle("аlice@example.com")  # Cyrillic а
    assert normalize_handle("alice@example.com").normalized == "alice@example.com"


_VALID_NUMBERS = [
    phonenumbers.format_number(
        phonenumbers.example_number_for_type(region, kind), phonenumbers.PhoneNumberFormat.E164
    )
    for region in ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU"]
    for kind in [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
]
_phone = st.sampled_from(_VALID_NUMBERS)
_local = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
_domain = st.sampled_from(["example.com", "bücher.example", "mail.example.org", "пример.рф"])
_email = st.builds(lambda local, domain: f"{local}@{domain}", _local, _domain)


def _respell_phone(e164: str, style: int) -> str:
    number = phonenumbers.parse(e164)
    formats = [
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.RFC3966,
    ]
    text = phonenumbers.format_number(number, formats[style % 3])
    return text.removeprefix("tel:").replace("-", " " if style % 2 else "-")


@given(_phone | _email)
def test_normalizing_is_idempotent(raw: str) -> None:
    once = normalize_handle(raw)
    assert normalize_handle(once.normalized) == once


@given(_phone, st.integers(min_value=0, max_value=5))
def test_equivalent_phone_spellings_give_one_value(e164: str, style: int) -> None:
    assert normalize_handle(_respell_phone(e164, style)).normalized == e164


@given(_email, st.lists(st.booleans(), min_size=1, max_size=40), st.sampled_from(["", " ", "\t"]))
def test_email_case_and_padding_give_one_value(raw: str, upper: list[bool], pad: str) -> None:
    respelled = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(raw))
    if pad == "\t":
        respelled = f" {respelled} "
    assert normalize_handle(f"{pad}{respelled}{pad}".strip() or respelled) == normalize_handle(raw)


@given(_phone, _phone)
def test_distinct_numbers_never_collide(a: str, b: str) -> None:
    assert (normalize_handle(a) == normalize_handle(b)) == (a == b)
