"""Which Vigil account a single sign-on identity signs in to (ADR 0060). Pure: the store's answers come in.

An identity is the provider's issuer and the `sub` it gives the person. An account linked to it is the one it
signs in to, while that account is enabled. An identity linked to no account may link itself, once, to the one
enabled account holding the email address the provider says it has verified, if that account has no identity
linked yet; after that only this identity signs in to it, until an administrator clears the link. Roles, areas
and the centre are the account's: nothing the provider says about the person changes what they may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.triage.sso import Identity
from services.triage.staff_store import Account, Linkable


class Refusal(StrEnum):
    unknown = "unknown"  # no account is linked to the identity or holds its email address
    unverified = "unverified"  # the provider has not verified the email address
    disabled = "disabled"  # the account is disabled
    taken = "taken"  # the account is linked to another identity
    ambiguous = "ambiguous"  # several enabled accounts hold the email address


REFUSALS: dict[Refusal, str] = {
    Refusal.unknown: "Your organisation's account is not linked to a Vigil account.",
    Refusal.unverified: "Your organisation has not confirmed the email address on your account, so it cannot be "
                        "matched to a Vigil account.",
    Refusal.disabled: "Your Vigil account is disabled.",
    Refusal.taken: "The Vigil account with your email address is linked to another organisation account.",
    Refusal.ambiguous: "More than one Vigil account has your email address, so none can be chosen.",
}


@dataclass(frozen=True)
class Choice:
    """Sign in to `account` (linking the identity to it first when `link`), or be refused for `refusal`."""

    account: Account | None = None
    link: bool = False
    refusal: Refusal | None = None


def choose(identity: Identity, linked: Linkable | None, same_email: list[Linkable]) -> Choice:
    """`linked`: the account linked to the identity, if any; `same_email`: the accounts holding its email."""
    if linked is not None:
        return Choice(linked.account) if linked.enabled else Choice(refusal=Refusal.disabled)
    if identity.email is None:
        return Choice(refusal=Refusal.unknown)
    if not identity.email_verified:
        return Choice(refusal=Refusal.unverified)
    enabled = [a for a in same_email if a.enabled]
    if not enabled:
        return Choice(refusal=Refusal.disabled if same_email else Refusal.unknown)
    if len(enabled) > 1:
        return Choice(refusal=Refusal.ambiguous)
    if enabled[0].sso_subject is not None:
        return Choice(refusal=Refusal.taken)
    return Choice(enabled[0].account, link=True)
