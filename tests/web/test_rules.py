"""Unit tests for the ZDJ rules that need no I/O: code format and check character, passwords,
working days, the 15:00 post rule and the 5-working-day delivery, routing by file type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.web import calendar, codes
from gateway.web.rules import allowed_size_classes, route_for

AMS = ZoneInfo("Europe/Amsterdam")


def test_new_codes_begin_with_w_avoid_confusables_and_pass_their_check() -> None:
    seen = {codes.new_code() for _ in range(500)}
    assert len(seen) == 500
    for code in seen:
        assert code.startswith("W")
        assert not set(code) & set("0O1Il")
        assert codes.is_well_formed(code)


def test_check_character_catches_every_single_substitution_and_neighbour_swap() -> None:
    code = codes.new_code()
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    for i in range(1, len(code)):
        for ch in alphabet:
            if ch != code[i]:
                assert not codes.is_well_formed(code[:i] + ch + code[i + 1 :])
    for i in range(1, len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert not codes.is_well_formed(swapped)


def test_typed_codes_are_normalised_and_confusables_are_not_valid() -> None:
    code = codes.new_code()
    shown = codes.display(code)
    assert shown.startswith("W-") and shown.count("-") == 3
    assert codes.normalise(shown.lower()) == code
    assert codes.normalise(f" {shown} ") == code
    # An O or a 0 typed for one another can never be part of a code: a format error.
    assert not codes.is_well_formed(code[:3] + "0" + code[4:])
    assert not codes.is_well_formed(code[:3] + "O" + code[4:])
    assert not codes.is_well_formed("X" + code[1:])
    assert not codes.is_well_formed(code + "2")


def test_passwords_are_hashed_with_argon2_and_verified() -> None:
    pw = codes.new_password()
    stored = codes.hash_password(pw)
    assert stored.startswith("$argon2id$") and pw not in stored
    assert codes.verify_password(stored, pw)
    assert not codes.verify_password(stored, pw + "x")
    assert not codes.verify_password(None, pw)
    assert not codes.verify_password("not a hash", pw)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 24), True),  # Tuesday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 29), False),  # Sunday
        (date(2026, 12, 25), False),  # Eerste Kerstdag
        (date(2026, 12, 26), False),  # Tweede Kerstdag (a Saturday too)
        (date(2026, 4, 27), False),  # Koningsdag on a Monday
        (date(2025, 4, 26), False),  # Koningsdag moved to the 26th: the 27th was a Sunday
        (date(2025, 4, 28), True),
        (date(2026, 5, 14), False),  # Hemelvaartsdag
        (date(2026, 5, 25), False),  # Tweede Pinksterdag
        (date(2027, 3, 29), False),  # Tweede Paasdag
        (date(2026, 5, 5), False),  # Bevrijdingsdag (Algemene termijnenwet)
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_a_year_without_holiday_data_is_refused_not_guessed() -> None:
    with pytest.raises(calendar.CalendarUnknown):
        calendar.is_working_day(date(2031, 1, 2))


def at(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=AMS)


def test_post_requested_on_a_working_day_before_15_goes_the_same_day() -> None:
    s = calendar.post_schedule(at(2026, 11, 24, 14, 59))
    assert s.dispatch_on == date(2026, 11, 24)
    assert s.deliver_by == date(2026, 12, 1)  # 5 working days: Wed Thu Fri Mon Tue


def test_post_requested_at_15_or_later_goes_the_next_working_day() -> None:
    assert calendar.post_schedule(at(2026, 11, 24, 15, 0)).dispatch_on == date(2026, 11, 25)
    friday = calendar.post_schedule(at(2026, 11, 27, 16, 30))
    assert friday.dispatch_on == date(2026, 11, 30)  # Monday
    assert friday.deliver_by == date(2026, 12, 7)


def test_post_requested_on_a_weekend_or_holiday_goes_the_next_working_day() -> None:
    assert calendar.post_schedule(at(2026, 11, 28, 9, 0)).dispatch_on == date(2026, 11, 30)
    xmas = calendar.post_schedule(at(2026, 12, 24, 15, 30))  # Thursday after 15:00
    assert xmas.dispatch_on == date(2026, 12, 28)  # 25 and 26 are holidays, then Sunday
    assert xmas.deliver_by == date(2027, 1, 5)  # 29, 30, 31, (1 Jan holiday) 4, 5


def test_the_15_00_cutoff_is_amsterdam_time_not_utc() -> None:
    # 14:30 UTC is 15:30 in Amsterdam in winter: too late for the same day.
    assert calendar.post_schedule(datetime(2026, 11, 24, 14, 30, tzinfo=UTC)).dispatch_on == date(2026, 11, 25)
    # 12:30 UTC is 14:30 in Amsterdam in summer (CEST, UTC+2): still the same day.
    assert calendar.post_schedule(datetime(2026, 6, 2, 12, 30, tzinfo=UTC)).dispatch_on == date(2026, 6, 2)
    # 13:30 UTC in summer is 15:30 in Amsterdam.
    assert calendar.post_schedule(datetime(2026, 6, 2, 13, 30, tzinfo=UTC)).dispatch_on == date(2026, 6, 3)


def test_block_or_close_on_request_is_due_within_one_working_day() -> None:
    assert calendar.request_due(at(2026, 11, 27, 10, 0)) == date(2026, 11, 30)
    assert calendar.request_due(at(2026, 11, 24, 10, 0)) == date(2026, 11, 25)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        calendar.post_schedule(datetime(2026, 11, 24, 10, 0))


def test_routes_by_file_type_and_size_classes() -> None:
    assert route_for("jaarrekening.XBRL") == "Jaarverantwoording_KvK"
    assert route_for("report.xhtml") == "jaarrekening_ixbrl_esd"
    assert route_for("report.pdf") is None
    assert allowed_size_classes() == {"micro", "small"}


def test_uploads_are_routed_by_type_and_inline_xbrl_waits_for_its_berichtsoort() -> None:
    from gateway.resources import berichtsoorten
    from gateway.web.app import _upload_problem
    from gateway.web.rules import accepted_extensions
    from gateway.web.views import NO_FILE, NOT_YET, WRONG_TYPE

    assert _upload_problem("jaarrekening.xbrl", b"<xbrl/>") == ""
    assert _upload_problem("jaarrekening.xbrl", b"") == NO_FILE
    assert _upload_problem("jaarrekening.pdf", b"%PDF") == WRONG_TYPE
    ixbrl_ready = "jaarrekening_ixbrl_esd" in berichtsoorten()
    assert (_upload_problem("jaarrekening.xhtml", b"<html/>") == "") is ixbrl_ready
    if not ixbrl_ready:
        assert _upload_problem("jaarrekening.xhtml", b"<html/>") == NOT_YET
    assert accepted_extensions({"Jaarverantwoording_KvK"}) == [".xbrl", ".xml"]
    assert ".xhtml" in accepted_extensions({"Jaarverantwoording_KvK", "jaarrekening_ixbrl_esd"})


def test_page_text_is_escaped_and_control_and_bidi_characters_neutralised() -> None:
    from gateway.web.html import esc

    assert esc('<script>"x"&') == "&lt;script&gt;&quot;x&quot;&amp;"
    shown = esc("Evil\u202eB.V.\u0007\u2066x")
    assert "\u202e" not in shown and "\u0007" not in shown and "\u2066" not in shown
    assert shown.count("\ufffd") == 3


def test_email_only_when_the_applicant_uses_the_registered_address() -> None:
    from gateway.web.service import chooses_email

    assert chooses_email("Admin@Bedrijf.nl ", "admin@bedrijf.nl")
    assert not chooses_email("jan@bedrijf.nl", "admin@bedrijf.nl")
    assert not chooses_email("admin@bedrijf.nl", None)  # no address on file: by post
    assert not chooses_email("admin@bedrijf.nl", "")
