"""Password policy after NIST SP 800-63B (section 5.1.1.2): length and a deny list, no composition rules.

A new password must have at least ``MIN_LENGTH`` characters (the issue's 10,
above NIST's floor of 8), at most ``MAX_LENGTH``, must not be one of the 30,000
commonest passwords of breach corpora (the list shipped with ``zxcvbn``), must
not contain the user name, the site's code or the service's name
(context-specific words), and must not be guessable by zxcvbn's estimator
(score >= 3 of 4 with those words as user inputs). No rules on character
classes: NIST advises against them.
"""

from __future__ import annotations

from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.errors import DomainError

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3
SERVICE_WORDS = ("ecghub",)


class WeakPassword(DomainError):
    """``rule`` names the broken rule (too_short, too_long, common, contains_name, guessable) so a
    page can say it in the user's language; the API's detail is the English sentence."""

    status, type, title = 422, "/problems/weak-password", "Password not accepted"

    def __init__(self, detail: str, *, rule: str) -> None:
        super().__init__(detail, rule=rule)
        self.rule = rule


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, *, username: str, context: tuple[str, ...] = ()) -> None:
    """Raise ``WeakPassword`` naming the first rule ``password`` breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters", rule="too_short")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters", rule="too_long")
    lowered = password.lower()
    if lowered in _common():
        raise WeakPassword("this password is one of the most common ones; choose another", rule="common")
    words = [w.lower() for w in (username, *context, *SERVICE_WORDS) if w and len(w) >= 3]
    if any(w in lowered for w in words):
        raise WeakPassword("the password must not contain the user name, the site's code or the service's name",
                           rule="contains_name")
    if zxcvbn(password[:100], user_inputs=words)["score"] < MIN_SCORE:
        raise WeakPassword("the password is too easy to guess; a few unrelated words make a strong one",
                           rule="guessable")
