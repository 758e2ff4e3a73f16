"""Access codes: format, check character, normalising what a person typed, passwords.

KVK: "Your access code begins with W" and people misread "0 (number) and O (letter), 1 and I
(capital letter i) and l (lowercase letter l)" (seeds/kvk-access-codes.txt). The alphabet has
none of those; a weighted mod 31 check character (31 symbols, a prime) catches any single wrong character
and any swap of two neighbours, so a typo is reported as a typo without looking anything up.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.web.rules import rules


@cache
def _spec() -> tuple[str, str, int, int]:
    spec = rules()["access_code"]
    return str(spec["prefix"]), str(spec["alphabet"]), int(spec["payload_length"]), int(spec["group"])


def check_character(body: str) -> str:
    """The symbol c that makes sum(i * value(char_i)) over body + c divisible by N (the alphabet
    size, a prime), weights 1, 2, ... from the left. A prime modulus and distinct weights below
    it make every single substitution and every swap of neighbours change the sum."""
    _, alphabet, _, _ = _spec()
    n = len(alphabet)
    weight = len(body) + 1
    if weight >= n:
        raise ValueError("code too long for its check character")
    total = sum(i * alphabet.index(ch) for i, ch in enumerate(body, start=1))
    return alphabet[(-total * pow(weight, -1, n)) % n]


def new_code() -> str:
    """A fresh code in canonical form (no separators): W + payload + check character."""
    prefix, alphabet, length, _ = _spec()
    body = prefix + "".join(secrets.choice(alphabet) for _ in range(length))
    return body + check_character(body)


def normalise(typed: str) -> str:
    """What a person typed -> canonical form: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")[:64]


def is_well_formed(code: str) -> bool:
    """Canonical ``code`` has the W prefix, the length, only alphabet symbols, a right check."""
    prefix, alphabet, length, _ = _spec()
    if len(code) != len(prefix) + length + 1 or not code.startswith(prefix):
        return False
    if any(ch not in alphabet for ch in code[len(prefix) :]):
        return False
    return check_character(code[:-1]) == code[-1]


def display(code: str) -> str:
    """W + groups separated by dashes, easier to read aloud and type: W-ABCD-EFGH-K."""
    prefix, _, _, group = _spec()
    rest = code[len(prefix) :]
    return "-".join([prefix, *(rest[i : i + group] for i in range(0, len(rest), group))])


def new_password() -> str:
    """An initial or replacement password, from the same unambiguous alphabet."""
    _, alphabet, _, _ = _spec()
    length = int(rules()["access_code"]["password_length"])
    return "".join(secrets.choice(alphabet + alphabet.lower().replace("l", "")) for _ in range(length))


_hasher = PasswordHasher()
#: Verified against when a code does not exist, so that both answers take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
