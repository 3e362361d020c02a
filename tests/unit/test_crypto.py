from __future__ import annotations

import os

import pytest

from shared.crypto import (
    Fingerprinter,
    SealBroken,
    new_data_key,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)


def test_personal_data_opens_only_with_its_own_key_and_report() -> None:
    key = new_data_key()
    sealed = seal(key, "report-1", {"name": "Yusuf", "email": "y@example.org"})
    assert "Yusuf" not in sealed.ciphertext
    assert open_sealed(key, "report-1", sealed) == {"name": "Yusuf", "email": "y@example.org"}
    with pytest.raises(SealBroken):
        open_sealed(new_data_key(), "report-1", sealed)
    with pytest.raises(SealBroken):
        open_sealed(key, "report-2", sealed)  # bound to its report: no cut-and-paste between reports


def test_a_wrapped_data_key_needs_the_master_key() -> None:
    master, data_key = os.urandom(32), new_data_key()
    wrapped = wrap_key(master, data_key, "report-1")
    assert unwrap_key(master, wrapped, "report-1") == data_key
    with pytest.raises(SealBroken):
        unwrap_key(os.urandom(32), wrapped, "report-1")


def test_contact_fingerprints_match_however_the_contact_is_written() -> None:
    f = Fingerprinter("k")
    assert f.contact(" Amina@Example.ORG ", None) == f.contact("amina@example.org", None)
    assert f.contact(None, "+44 7700 900123") == f.contact(None, "07700 900123")
    assert f.contact("amina@example.org", None) != f.contact("amira@example.org", None)
    assert f.contact(None, None) is None


def test_place_fingerprints_fold_case_and_punctuation_but_not_the_area() -> None:
    f = Fingerprinter("k")
    assert f.place("E23000001", "East London Mosque") == f.place("E23000001", "east  london mosque.")
    assert f.place("E23000001", "East London Mosque") != f.place("E23000008", "East London Mosque")
    assert f.place("E23000001", "  ") is None


def test_fingerprints_depend_on_the_secret_key() -> None:
    assert Fingerprinter("a").contact("x@y.z", None) != Fingerprinter("b").contact("x@y.z", None)
