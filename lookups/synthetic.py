"""Synthetic query logs: realistic enough to load-test ingest, scope and the PDF job.

``logs_generate`` streams entries in the API.md JSON shape. The whole output is a
function of (rows, seed, end): the same arguments give byte-identical output in any
process (nothing here iterates a set or a hash-ordered dict, so ``PYTHONHASHSEED``
does not matter). Memory is the population only, bounded whatever ``rows`` is.

What it models, and why:

- a population of accounts (phone numbers valid per ``phonenumbers`` in several
  countries, and email addresses, some on IDN domains), each with a few devices, a
  few stable source IPs and a small contact list, so per-identifier scopes return
  plausible, clustered rows rather than uniform noise;
- heavy-tailed activity (a Zipf weight per account), because a few heavy accounts
  are what make disclosure packages large;
- phones are always E.164, but about 5% of email spellings mix upper and lower case,
  so ingest normalization is exercised while most rows stay canonical;
- lookups follow a daily rhythm (a mix of each country's local day, in UTC) over the
  30 days before ``end``, and come out in non-decreasing time order.

Email domains are reserved names only (RFC 2606 ``example``, ``.test`` and the IANA
IDN test TLDs such as ``.испытание``), and IPs come from documentation (RFC 5737,
RFC 3849) and benchmarking (RFC 2544) ranges, so no real mail domain or real
subscriber address ever lands in a demo package. Phone numbers cannot be kept out of
real ranges the same way: ``phonenumbers`` rejects the drama ranges of most
countries (e.g. UK 07700 900xxx), so only North America uses its fictional
555-01xx block.
"""

import ipaddress
import itertools
import random
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

import phonenumbers

from lookups.normalize import HandleError, normalize_handle

WINDOW = timedelta(days=30)
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)

# Share of accounts per country and its UTC offset in hours (DST ignored: the rhythm
# only has to look diurnal, not match any one calendar).
_COUNTRIES: tuple[tuple[str, float, int], ...] = (
    ("US", 0.30, -6),
    ("CA", 0.04, -5),
    ("GB", 0.10, 0),
    ("DE", 0.10, 1),
    ("FR", 0.08, 1),
    ("IN", 0.14, 5),
    ("BR", 0.10, -3),
    ("JP", 0.14, 9),
)

# Mobile ranges as (E.164 prefix, random digits to append). Candidates are kept only
# if ``phonenumbers`` says they are valid numbers of that region.
# fmt: off
_US_AREA_CODES = (
    "201", "202", "205", "206", "212", "213", "214", "215", "216", "217", "224", "225",
    "248", "253", "267", "281", "301", "303", "305", "310", "312", "313", "314", "317",
    "347", "404", "407", "408", "410", "412", "414", "415", "425", "469", "480", "503",
    "504", "510", "512", "513", "602", "609", "612", "614", "615", "617", "619", "626",
    "646", "650", "702", "703", "704", "713", "714", "718", "720", "732", "773", "786",
    "801", "804", "808", "813", "818", "832", "857", "858", "901", "904", "916", "917",
    "919", "925", "949", "971", "972",
)
_CA_AREA_CODES = (
    "204", "236", "250", "289", "306", "403", "416", "437", "438", "506", "514", "519",
    "587", "604", "613", "647", "705", "778", "780", "902", "905",
)
# fmt: on
_PHONE_RANGES: dict[str, tuple[tuple[str, int], ...]] = {
    "US": tuple((f"+1{code}55501", 2) for code in _US_AREA_CODES),
    "CA": tuple((f"+1{code}55501", 2) for code in _CA_AREA_CODES),
    "GB": tuple((f"+447{d}", 8) for d in "45789"),
    "DE": (
        ("+49151", 8),
        ("+49152", 8),
        ("+49157", 8),
        ("+49160", 7),
        ("+49170", 7),
        ("+49171", 7),
        ("+49176", 8),
        ("+49177", 8),
    ),
    "FR": (("+336", 8), ("+337", 8)),
    "IN": tuple((f"+91{d}", 9) for d in "6789"),
    "BR": tuple((f"+55{area}9", 8) for area in ("11", "21", "31", "41", "61", "71")),
    "JP": (("+8170", 8), ("+8180", 8), ("+8190", 8)),
}
_PHONE_SHARE = 0.65  # of accounts whose Apple ID is a phone number, not an email

_ASCII_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "post.example",
    "icloud.example",
    "uni.test",
)
# IDN domains, with local parts native to each (SMTPUTF8 addresses exist too).
_IDN_DOMAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bücher.example", ("jürgen", "anna", "lukas", "sophie")),
    ("münchen.example", ("jörg", "maximilian", "lea", "günther")),
    ("café.example", ("zoé", "chloé", "hugo", "léa")),
    ("españa.example", ("josé", "lucía", "martín", "inés")),
    ("пример.испытание", ("иван", "мария", "дмитрий", "olga")),
    ("почта.испытание", ("наталья", "сергей", "ivan")),
    ("παράδειγμα.δοκιμή", ("ελένη", "γιώργος", "eleni")),
    ("例え.テスト", ("はなこ", "たろう", "kenji", "yuki")),
    ("실례.테스트", ("minji", "jisoo")),
    ("उदाहरण.परीक्षा", ("ravi", "priya", "arjun")),
)
_IDN_SHARE = 0.12  # of email handles on an IDN domain

# fmt: off
_FIRST_NAMES = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "david",
    "elizabeth", "william", "susan", "oliver", "amelia", "harry", "isla", "jack", "ava",
    "noah", "mia", "leon", "emma", "paul", "lina", "louis", "chloe", "arjun", "aanya",
    "vivaan", "diya", "rohan", "isha", "lucas", "julia", "gabriel", "beatriz", "pedro",
    "ana", "haruto", "yui", "sota", "hina", "ren", "aoi", "wei", "mei", "omar", "fatima",
    "liam", "sofia", "mateo", "valentina",
)
_LAST_NAMES = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "wilson",
    "taylor", "clarke", "evans", "walker", "wright", "muller", "schmidt", "schneider",
    "fischer", "weber", "martin", "bernard", "dubois", "thomas", "robert", "sharma",
    "patel", "singh", "kumar", "gupta", "silva", "santos", "oliveira", "souza", "lima",
    "sato", "suzuki", "takahashi", "tanaka", "watanabe", "kim", "lee", "nguyen", "chen",
    "khan", "ali",
)
# fmt: on

# Clients by device kind, most common first (their relative weight is their rank).
_IPHONES = (
    "iPhone15,2 iOS 18.1",
    "iPhone14,5 iOS 18.1",
    "iPhone16,1 iOS 18.1",
    "iPhone15,4 iOS 18.2",
    "iPhone14,7 iOS 17.6",
    "iPhone16,2 iOS 18.2",
    "iPhone17,1 iOS 18.2",
    "iPhone13,2 iOS 17.7",
    "iPhone12,1 iOS 17.7",
    "iPhone17,3 iOS 18.1",
)
_IPADS = (
    "iPad13,4 iPadOS 18.0",
    "iPad14,3 iPadOS 18.1",
    "iPad13,18 iPadOS 17.6",
    "iPad16,3 iPadOS 18.1",
)
_MACS = (
    "MacBookPro18,3 macOS 15.1",
    "MacBookAir10,1 macOS 14.7",
    "Mac14,2 macOS 15.0",
    "Mac15,3 macOS 15.1",
    "Mac14,13 macOS 15.1",
)
_WATCHES = ("Watch6,14 watchOS 11.1", "Watch7,3 watchOS 11.1")

_IPV4_NETS = tuple(
    ipaddress.IPv4Network(net)
    for net in ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
_IPV4_NET_WEIGHTS = (0.85, 0.05, 0.05, 0.05)  # the /15 is where most addresses fit
_IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
_IPV6_SHARE = 0.45

# Local-time activity by hour of day: quiet before dawn, a peak in the evening.
_LOCAL_HOURLY = (
    0.35, 0.20, 0.12, 0.08, 0.07, 0.10, 0.25, 0.55, 0.80, 0.90, 0.95, 1.00,
    1.05, 1.00, 0.95, 0.95, 1.00, 1.10, 1.20, 1.30, 1.35, 1.30, 1.05, 0.70,
)  # fmt: skip
_WEEKEND_FACTOR = 0.85

_ZIPF_EXPONENT = 1.05
_ZIPF_OFFSET = 5
_CONTACT_SHARE = 0.85  # of lookups aimed at the source's own contacts
_MIXED_CASE_SHARE = 0.05
_ACCOUNT_REACHABLE = {"imessage": 0.97, "facetime": 0.95}
_OUTSIDER_REACHABLE = {"imessage": 0.40, "facetime": 0.35}


@dataclass(frozen=True, slots=True)
class _Population:
    """Everything a row is drawn from, as parallel lists indexed by position."""

    spellings: list[tuple[str, str]]  # per handle: (canonical raw, mixed-case raw)
    reachable: list[tuple[bool, bool]]  # per handle: (imessage, facetime)
    account_handle: list[int]  # per account: its handle index
    account_imessage_share: list[float]
    account_endpoints: list[list[tuple[str, str]]]  # per account: (source_ip, client)
    account_contacts: list[list[int]]  # per account: handle indices
    # Per country (in ``_COUNTRIES`` order): its accounts and their cumulative Zipf
    # weights, so a row can pick the country first (by local time) and then the account.
    country_accounts: list[list[int]]
    country_cum_weights: list[list[float]]


def logs_generate(*, rows: int, seed: int, end: datetime) -> Iterator[dict]:
    """Yield ``rows`` synthetic entries with ``end - 30 days <= occurred_at < end``.

    Entries come in non-decreasing ``occurred_at`` order, each a fresh dict in the
    API.md shape. Deterministic in (rows, seed, end); memory does not grow with rows.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be an aware datetime")
    rng = random.Random(seed)
    population = _population_build(rng=rng, accounts=_account_count(rows))
    return _rows(rng=rng, population=population, rows=rows, end=end)


def _account_count(rows: int) -> int:
    # About 200 lookups per account per month on average (far more for the head of the
    # Zipf curve), capped so building the population stays well under a second or two.
    return min(max(rows // 200, 100), 10_000)


def _rows(
    *, rng: random.Random, population: _Population, rows: int, end: datetime
) -> Iterator[dict]:
    end_us = (end.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    # Work in whole milliseconds: the first one at or after end - 30 days, and up to
    # (not including) the first one at or after end, so truncation never leaves the window.
    end_ms = -(-end_us // 1000)
    start_ms = end_ms - WINDOW // timedelta(milliseconds=1)
    country_accounts = population.country_accounts
    country_cum_weights = population.country_cum_weights
    country_last = [len(accounts) - 1 for accounts in country_accounts]
    by_hour = _country_mix_by_hour(country_cum_weights)
    cdf = _rhythm_cdf(
        start_ms=start_ms,
        bins=WINDOW // timedelta(hours=1),
        utc_hourly=[mix[-1] for mix in by_hour],
    )
    clock = _times_ms(rng=rng, rows=rows, start_ms=start_ms, cdf=cdf)

    spellings = population.spellings
    reachable = population.reachable
    account_handle = population.account_handle
    imessage_share = population.account_imessage_share
    endpoints = population.account_endpoints
    contacts = population.account_contacts
    last_country = len(_COUNTRIES) - 1
    handle_count = len(spellings)
    clock_of_day = _clock_of_day()
    millis = _millis()
    rand = rng.random
    bits = rng.getrandbits

    day = -1
    prefix = ""
    for moment in clock:
        if moment // _DAY_MS != day:
            day = moment // _DAY_MS
            prefix = (_EPOCH_DATE + timedelta(days=day)).isoformat() + "T"
        second, milli = divmod(moment - day * _DAY_MS, 1000)

        # Who is awake now: the country by its local hour, then an account by its weight.
        # (``hi`` keeps a product that rounds up to the total from indexing past the end.)
        mix = by_hour[second // 3600]
        country = bisect_right(mix, rand() * mix[-1], 0, last_country)
        weights = country_cum_weights[country]
        account = country_accounts[country][
            bisect_right(weights, rand() * weights[-1], 0, country_last[country])
        ]

        source = account_handle[account]
        imessage = rand() < imessage_share[account]
        ends = endpoints[account]
        source_ip, client = ends[int(rand() * len(ends))]

        pick = rand()
        if pick < _CONTACT_SHARE:
            # Squaring favours the first contacts: a few people are looked up most.
            own = contacts[account]
            ratio = pick / _CONTACT_SHARE
            target = own[int(len(own) * ratio * ratio)]
        else:
            target = int(rand() * handle_count)
            if target == source:
                target = (target + 1) % handle_count

        # Same RFC 4122 layout as uuid.UUID(int=..., version=4), without its cost.
        number = bits(128) & _UUID_CLEAR | _UUID_SET
        hexed = f"{number:032x}"
        yield {
            "event_id": f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}",
            "occurred_at": prefix + clock_of_day[second] + millis[milli],
            "service": "imessage" if imessage else "facetime",
            "source": spellings[source][rand() < _MIXED_CASE_SHARE],
            "target": spellings[target][rand() < _MIXED_CASE_SHARE],
            "source_ip": source_ip,
            "client": client,
            "target_reachable": reachable[target][0 if imessage else 1],
        }


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (4 << 76) | (0x8000 << 48)


@cache
def _clock_of_day() -> tuple[str, ...]:
    """'HH:MM:SS.' for every second of a day: a lookup beats formatting per row."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400))


@cache
def _millis() -> tuple[str, ...]:
    return tuple(f"{ms:03d}Z" for ms in range(1000))


def _country_mix_by_hour(country_cum_weights: list[list[float]]) -> list[list[float]]:
    """For each UTC hour, cumulative activity over the countries at their local hour.

    Each country weighs what its accounts weigh (heavy accounts included) times how
    active people are at that local hour, so an account's lookups follow its own day.
    The last value of each hour is the whole service's activity then: a global day,
    flatter than any one country's.
    """
    totals = [weights[-1] if weights else 0.0 for weights in country_cum_weights]
    return [
        list(
            itertools.accumulate(
                total * _LOCAL_HOURLY[(hour + offset) % 24]
                for total, (_, _, offset) in zip(totals, _COUNTRIES, strict=True)
            )
        )
        for hour in range(24)
    ]


def _rhythm_cdf(*, start_ms: int, bins: int, utc_hourly: list[float]) -> list[float]:
    """Cumulative share of lookups at the end of each hour-long bin from ``start_ms``."""
    cdf = [0.0]
    total = 0.0
    for index in range(bins):
        middle = start_ms + index * _HOUR_MS + _HOUR_MS // 2
        hour = middle // _HOUR_MS % 24
        weekday = (middle // _DAY_MS + 3) % 7  # 1970-01-01 was a Thursday (3)
        weight = utc_hourly[hour] * (_WEEKEND_FACTOR if weekday >= 5 else 1.0)
        total += max(weight, 1e-6)  # no empty bin: the inverse below divides by its width
        cdf.append(total)
    return [value / total for value in cdf]


def _times_ms(*, rng: random.Random, rows: int, start_ms: int, cdf: list[float]) -> Iterator[int]:
    """``rows`` epoch-millisecond times, non-decreasing, distributed as ``cdf`` says.

    Draws the sorted uniform order statistics one at a time (each next one is uniform
    on what is left above the last: U(k+1) = U(k) + (1 - U(k))(1 - V^(1/(n-k)))), so
    nothing is held or sorted, then maps each through the rhythm's inverse CDF, which
    is monotone and so keeps the order.
    """
    rand = rng.random
    last_bin = len(cdf) - 2
    end_ms = start_ms + (last_bin + 1) * _HOUR_MS
    position = 0.0
    index = 0
    lower, upper = cdf[0], cdf[1]
    for remaining in range(rows, 0, -1):
        position += (1.0 - position) * (1.0 - (1.0 - rand()) ** (1.0 / remaining))
        while position >= upper and index < last_bin:
            index += 1
            lower, upper = upper, cdf[index + 1]
        fraction = (position - lower) / (upper - lower)
        moment = start_ms + index * _HOUR_MS + int(fraction * _HOUR_MS)
        yield min(moment, start_ms + (index + 1) * _HOUR_MS - 1, end_ms - 1)


def _population_build(*, rng: random.Random, accounts: int) -> _Population:
    """Draw the accounts, the outsiders they look up, and everyone's habits."""
    outsiders = max(accounts // 2, 50)
    countries = [name for name, _, _ in _COUNTRIES]
    country_weights = [share for _, share, _ in _COUNTRIES]
    maker = _HandleMaker(rng)

    spellings: list[tuple[str, str]] = []
    reachable: list[tuple[bool, bool]] = []
    handle_country: list[str] = []
    for position in range(accounts + outsiders):
        # Email accounts have a home country too: it sets their contacts and their day.
        # One account in every country first: no country's account list is ever empty.
        if position < len(countries):
            country = countries[position]
        else:
            country = rng.choices(countries, weights=country_weights)[0]
        raw = maker.phone(country) if rng.random() < _PHONE_SHARE else maker.email()
        spellings.append((raw, maker.mixed_case(raw)))
        odds = _ACCOUNT_REACHABLE if position < accounts else _OUTSIDER_REACHABLE
        reachable.append((rng.random() < odds["imessage"], rng.random() < odds["facetime"]))
        handle_country.append(country)

    by_country: dict[str, list[int]] = {name: [] for name in countries}
    for handle, country in enumerate(handle_country):
        by_country[country].append(handle)

    account_handle = list(range(accounts))
    imessage_share = [min(0.97, max(0.5, rng.gauss(0.8, 0.1))) for _ in range(accounts)]
    endpoints = [
        _endpoints_for(rng, is_phone=spellings[handle][0].startswith("+"))
        for handle in account_handle
    ]
    contacts = [
        _contacts_for(
            rng, own=handle, home=by_country[handle_country[handle]], total=len(spellings)
        )
        for handle in account_handle
    ]

    # Zipf by a random rank, so activity is not correlated with the order of creation.
    # The Mandelbrot offset flattens the very top: with plain Zipf the busiest account
    # alone made 15% of all lookups, a bot rather than a heavy user.
    ranks = list(range(1, accounts + 1))
    rng.shuffle(ranks)
    country_accounts: list[list[int]] = [[] for _ in countries]
    country_cum_weights: list[list[float]] = [[] for _ in countries]
    for account, rank in zip(account_handle, ranks, strict=True):
        index = countries.index(handle_country[account])
        weights = country_cum_weights[index]
        running = weights[-1] if weights else 0.0
        country_accounts[index].append(account)
        weights.append(running + (rank + _ZIPF_OFFSET) ** -_ZIPF_EXPONENT)
    return _Population(
        spellings=spellings,
        reachable=reachable,
        account_handle=account_handle,
        account_imessage_share=imessage_share,
        account_endpoints=endpoints,
        account_contacts=contacts,
        country_accounts=country_accounts,
        country_cum_weights=country_cum_weights,
    )


def _contacts_for(rng: random.Random, *, own: int, home: Sequence[int], total: int) -> list[int]:
    wanted = min(40, 2 + int(4 * rng.paretovariate(1.6)))
    chosen: list[int] = []
    seen = {own}
    attempts = 0
    while len(chosen) < wanted and attempts < wanted * 10:
        attempts += 1
        # Most contacts live in the same country; some anywhere.
        handle = rng.choice(home) if rng.random() < 0.7 else rng.randrange(total)
        if handle not in seen:
            seen.add(handle)
            chosen.append(handle)
    return chosen or [(own + 1) % total]


def _endpoints_for(rng: random.Random, *, is_phone: bool) -> list[tuple[str, str]]:
    """An account's (source_ip, client) pairs; repeats weight the habitual ones."""
    devices = []
    if is_phone or rng.random() < 0.6:
        devices.append(_pick_ranked(rng, _IPHONES))
    if rng.random() < (0.35 if is_phone else 0.7) or not devices:
        devices.append(_pick_ranked(rng, _MACS))
    if rng.random() < 0.2:
        devices.append(_pick_ranked(rng, _IPADS))
    if is_phone and rng.random() < 0.1:
        devices.append(_pick_ranked(rng, _WATCHES))
    addresses = [_ip(rng) for _ in range(rng.randint(1, 3))]
    pairs = []
    for device_rank, client in enumerate(devices):
        for address_rank, address in enumerate(addresses):
            if address_rank and rng.random() < 0.5:
                continue  # not every device is seen from every network
            weight = max(1, 6 - 2 * device_rank - 2 * address_rank)
            pairs.extend([(address, client)] * weight)
    return pairs


def _pick_ranked(rng: random.Random, options: Sequence[str]) -> str:
    return rng.choices(options, cum_weights=_ranked_cum_weights(len(options)))[0]


@cache
def _ranked_cum_weights(count: int) -> tuple[float, ...]:
    return tuple(itertools.accumulate(1 / rank for rank in range(1, count + 1)))


def _ip(rng: random.Random) -> str:
    if rng.random() < _IPV6_SHARE:
        # A /64 per site and a random interface id, as privacy addresses look.
        site = rng.getrandbits(32)
        interface = rng.getrandbits(64)
        return str(ipaddress.IPv6Address(_IPV6_BASE | site << 64 | interface))
    net = rng.choices(_IPV4_NETS, weights=_IPV4_NET_WEIGHTS)[0]
    host = rng.randrange(1, net.num_addresses - 1)  # skip network and broadcast
    return str(net.network_address + host)


class _HandleMaker:
    """Draws unique handles and proves each one normalizes the way ingest will store it."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._normalized: set[str] = set()  # only tested for membership, never iterated
        for domain, _ in _IDN_DOMAINS:
            self._check(f"test@{domain}")

    def phone(self, country: str) -> str:
        ranges = _PHONE_RANGES[country]
        for _ in range(1000):
            prefix, digits = self._rng.choice(ranges)
            candidate = prefix + "".join(self._rng.choices("0123456789", k=digits))
            # is_valid_number narrowed to the region: +1 alone does not tell US from CA.
            # (normalize_handle below then runs the plain is_valid_number, as ingest does.)
            if not phonenumbers.is_valid_number_for_region(
                phonenumbers.parse(candidate, None), country
            ):
                continue
            if self._accept(candidate):
                return candidate
        raise RuntimeError(f"cannot draw another unique {country} phone number")

    def email(self) -> str:
        rng = self._rng
        for _ in range(1000):
            if rng.random() < _IDN_SHARE:
                domain, natives = rng.choice(_IDN_DOMAINS)
                local = rng.choice(natives) + rng.choice(("", "", str(rng.randint(1, 99))))
            else:
                domain = rng.choice(_ASCII_DOMAINS)
                local = self._local_part()
            candidate = f"{local}@{domain}"
            if self._accept(candidate):
                return candidate
        raise RuntimeError("cannot draw another unique email address")

    def _local_part(self) -> str:
        rng = self._rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        style = rng.randrange(4)
        if style == 0:
            return f"{first}.{last}"
        if style == 1:
            return f"{first}{last[0]}{rng.randint(1, 99)}"
        if style == 2:
            return f"{first}_{last}{rng.randint(70, 99)}"
        return f"{first[0]}{last}"

    def mixed_case(self, raw: str) -> str:
        """A spelling of an email that differs only in case; a phone stays as it is.

        Only ASCII letters change case: a Greek final sigma or a German sharp s would
        not come back to the same lower-case form, which would make it another handle.
        """
        if raw.startswith("+"):
            return raw
        rng = self._rng
        style = rng.randrange(3)
        local, domain = raw.split("@")
        if style == 0:
            mixed = f"{local[:1].upper() if local[:1].isascii() else local[:1]}{local[1:]}@{domain}"
        elif style == 1:
            mixed = f"{local}@{''.join(c.upper() if c.isascii() else c for c in domain)}"
        else:
            mixed = "".join(c.upper() if c.isascii() and rng.random() < 0.4 else c for c in raw)
        if mixed == raw:
            mixed = f"{local}@{''.join(c.upper() if c.isascii() else c for c in domain)}"
        if normalize_handle(mixed).normalized != normalize_handle(raw).normalized:
            raise RuntimeError(f"{mixed!r} does not normalize like {raw!r}")
        return mixed

    def _accept(self, candidate: str) -> bool:
        normalized = self._check(candidate)
        if normalized in self._normalized:
            return False
        self._normalized.add(normalized)
        return True

    @staticmethod
    def _check(candidate: str) -> str:
        try:
            return normalize_handle(candidate).normalized
        except HandleError as exc:
            raise RuntimeError(f"synthetic handle {candidate!r} does not normalize: {exc}") from exc
