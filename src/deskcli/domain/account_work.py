"""Recognising account and credential work, so "no account work for an unverified caller"
holds whichever path records the work.

Vishing callers pose as staff to get a password reset, an MFA re-registration or an
unlock. The identity rule therefore cannot sit on one checklist step: the same work can be
written as a runbook, a resolution note or a root cause, from the console, the CLI or an
old client over sync. This module decides, from the ticket's category and the words of
what was done, whether the work touched an account; the ticket service asks it on every
path and refuses with ``identity_refusal``'s words, so every front end says the same.

Matching is on whole words and phrases, case-insensitive, with spaces and hyphens
interchangeable ("multi factor" = "multi-factor"). A team extends both lists in
``config.toml`` (``[account_work]``, see docs/user-guide.md); phrases there are plain text,
never regular expressions, so a settings file cannot make matching slow or surprising.
"""

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import NamedTuple

from deskcli.domain.errors import InvalidInput
from deskcli.domain.values import Value

#: Ticket categories that are account work whatever the notes say (compared whole,
#: case-insensitive). A category that merely contains one of ``DEFAULT_WORDS`` also counts.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "account", "accounts", "access", "identity", "iam", "credentials", "password",
    "passwords", "mfa", "sso", "user accounts", "account management",
)

#: Words and phrases that name work on an account or a credential.
DEFAULT_WORDS: tuple[str, ...] = (
    "password", "passwords", "passcode", "passphrase", "pin reset", "sspr",
    "mfa", "2fa", "multi factor", "multifactor", "two factor", "authenticator",
    "security key", "fido2", "totp", "one-time code", "temporary access pass",
    "unlock", "unlocked", "unlocking", "locked out", "lockout", "user account",
    "user accounts", "domain account", "ad account", "entra account",
    "credential reset", "reset credential", "reset credentials", "new credentials",
    "temporary credentials", "permission", "permissions", "access rights",
    "access to", "grant access", "granted access", "revoke access", "revoked access",
    "remove access", "removed access", "group membership", "added to group",
    "removed from group", "mailbox delegation", "full access",
    "reset the user", "re-register", "reregister", "re-enrol", "re-enroll",
)


#: Changes made TO an account ("disabled the user's account", "account re-enabled"). A bare
#: "account" is not enough: "the SMTP port in the Outlook account settings" is mail setup.
_ACCOUNT_CHANGES = (
    r"(?:unlock|enable|disable|create|delete|reset|rename|reactivate|recover|restore|"
    r"remove|add)(?:d|ed|s|ing)?\s+(?:(?:the|their|his|her|a|an|new|user'?s?|this)\s+)*"
    r"(?:[\w.-]+\s+)?accounts?",
    r"accounts?\s+(?:was\s+|is\s+|were\s+)?(?:re-?)?(?:unlock|lock|enable|disable|creat|"
    r"delet|reset|renam|reactivat|recover|restor)\w*",
)


def _phrase_pattern(phrase: str) -> str:
    """A phrase as a whole-word pattern; spaces and hyphens inside it are interchangeable."""
    parts = [re.escape(part) for part in re.split(r"[\s\-]+", phrase.strip()) if part]
    return r"[\s\-]+".join(parts)


class AccountWords(Value):
    """What names account work at this desk: built-in lists plus the team's additions.

    A ``Value`` (compared and hashed by its lists, immutable) rather than a frozen
    dataclass, so ``deskcli new`` does not load ``dataclasses`` (``domain/values.py``)."""

    _fields = ("categories", "words")

    categories: tuple[str, ...]
    words: tuple[str, ...]

    def __init__(self, categories: tuple[str, ...] = DEFAULT_CATEGORIES,
                 words: tuple[str, ...] = DEFAULT_WORDS) -> None:
        self._set(categories=categories, words=words)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> "AccountWords":
        """The ``[account_work]`` table of config.toml: ``categories`` and ``words``, each a
        list of plain phrases ADDED to the built-in ones (a team cannot remove them)."""
        unknown = sorted(set(raw) - {"categories", "words"})
        if unknown:
            raise InvalidInput(f"[account_work] has unknown key {unknown[0]!r}; known keys: "
                               "categories, words")
        extra: dict[str, tuple[str, ...]] = {}
        for key in ("categories", "words"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidInput(f"[account_work] {key} must be a list of words or "
                                   f"phrases, e.g. {key} = [\"okta\", \"badge\"]")
            cleaned = tuple(v.strip() for v in value if v.strip())
            too_long = next((v for v in cleaned if len(v) > 80), None)
            if too_long is not None:
                raise InvalidInput(f"[account_work] {key}: {too_long[:20]!r}… is longer "
                                   "than 80 characters; give a word or a short phrase")
            extra[key] = cleaned
        return cls(categories=DEFAULT_CATEGORIES + extra["categories"],
                   words=DEFAULT_WORDS + extra["words"])

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        # Longest first, so "access to" is reported rather than a shorter overlap.
        phrases = sorted({w.casefold() for w in self.words if w.strip()}, key=len,
                         reverse=True)
        body = "|".join([*_ACCOUNT_CHANGES, *(_phrase_pattern(p) for p in phrases)])
        return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.IGNORECASE)

    @cached_property
    def _categories(self) -> frozenset[str]:
        return frozenset(" ".join(c.casefold().split()) for c in self.categories)

    def named_in(self, text: str | None) -> str | None:
        """The first account word in ``text`` as written there, or None."""
        if not text:
            return None
        found = self._pattern.search(text)
        return found.group(0) if found else None

    def category_is_account(self, category: str | None) -> str | None:
        """The category itself when it marks account work, else None."""
        if not category:
            return None
        if " ".join(category.casefold().split()) in self._categories:
            return category.strip()
        return self.named_in(category)


#: The built-in lists, for callers with no config (tests, the server).
DEFAULT = AccountWords()


class AccountWork(NamedTuple):
    """Why a ticket's work counts as account work: where it was named, and the words."""

    source: str
    words: str

    @property
    def why(self) -> str:
        return f"the {self.source} names {self.words!r}"


def find_account_work(category: str | None, texts: Iterable[tuple[str, str | None]],
                      words: AccountWords = DEFAULT) -> AccountWork | None:
    """The first sign that the work touches an account: the category, then each text.

    ``texts`` are (where, text) pairs such as ("resolution", "Reset MFA registration").
    """
    if found := words.category_is_account(category):
        return AccountWork("category", found)
    for source, text in texts:
        if found := words.named_in(text):
            return AccountWork(source, found)
    return None


def identity_refusal(work: AccountWork) -> str:
    """The one sentence every front end shows when account work meets an unverified caller."""
    return (f"account or credential work needs a verified caller, and this caller's "
            f"identity is not verified ({work.why}). Verify them first: callback to the "
            "number on file, a second channel, their manager, or in person. Work that "
            "touches no account needs no verification")
