from datetime import date

import pytest

from assess.services.identity import NipError, is_valid_nip, make_nip, parse_nip

TODAY = date(2026, 11, 25)


def test_parse_valid_nip():
    info = parse_nip("198507142010011003", today=TODAY)
    assert info.birth_date == date(1985, 7, 14)
    assert (info.appointment_year, info.appointment_month) == (2010, 1)
    assert info.sex == 1 and info.serial == 3


def test_spaces_are_ignored():
    assert parse_nip("19850714 201001 1 003", today=TODAY).nip == "198507142010011003"


@pytest.mark.parametrize(
    "nip, code",
    [
        ("", "digits"),
        ("1985071420100110O3", "digits"),          # letter O
        ("19850714201001100", "length"),           # 17 digits
        ("1985071420100110031", "length"),         # 19 digits
        ("198502292010011003", "birth_date"),      # 1985 is not a leap year
        ("198513012010011003", "birth_date"),      # month 13
        ("193001012010011003", "birth_date"),      # born before 1940
        ("203001012050011003", "birth_date"),      # born in the future
        ("198507142010001003", "appointment"),     # month 00
        ("198507142030011003", "appointment"),     # appointed in the future
        ("198507141995011003", "appointment"),     # appointed at 9
        ("198507142010013003", "sex"),
        ("198507142010011000", "serial"),
    ],
)
def test_invalid_nips(nip, code):
    with pytest.raises(NipError) as caught:
        parse_nip(nip, today=TODAY)
    assert caught.value.code == code
    assert not is_valid_nip(nip)


def test_leap_day_birth_is_valid():
    assert parse_nip("198402292008012001", today=TODAY).birth_date == date(1984, 2, 29)


def test_make_nip_round_trips():
    nip = make_nip(date(1990, 12, 31), 2015, 3, 2, 41)
    assert nip == "199012312015032041"
    assert parse_nip(nip).serial == 41
