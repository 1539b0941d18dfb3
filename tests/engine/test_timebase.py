"""Frame rates and SMPTE timecode, checked against numbers worked out by hand.

Drop-frame arithmetic used for the expected values: at 29.97 a minute holds 30 * 60 - 2 = 1798
frame numbers, except every tenth minute which keeps all 1800, so ten minutes are
1800 + 9 * 1798 = 17982 frames and an hour 6 * 17982 = 107892. At 59.94 four numbers drop:
3596 per minute, 36000 - 36 = 35964 per ten minutes, 215784 per hour.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.errors import ReelcutError
from engine.timebase import (
    Rate,
    format_timecode,
    frames_from_seconds,
    parse_position,
    parse_rate,
    parse_timecode,
    seconds_from_frames,
)

R23976 = Rate(24000, 1001)
R24 = Rate(24)
R25 = Rate(25)
R2997 = Rate(30000, 1001)
R30 = Rate(30)
R5994 = Rate(60000, 1001)
R60 = Rate(60)

TIMECODES: list[tuple[Rate, int, str]] = [
    # 23.976 counts 24 nominal frames a second, no drop.
    (R23976, 0, "00:00:00:00"),
    (R23976, 1, "00:00:00:01"),
    (R23976, 23, "00:00:00:23"),
    (R23976, 24, "00:00:01:00"),
    (R23976, 1439, "00:00:59:23"),
    (R23976, 1440, "00:01:00:00"),
    (R23976, 14400, "00:10:00:00"),
    (R23976, 86399, "00:59:59:23"),
    (R23976, 86400, "01:00:00:00"),
    # 24
    (R24, 0, "00:00:00:00"),
    (R24, 23, "00:00:00:23"),
    (R24, 24, "00:00:01:00"),
    (R24, 1440, "00:01:00:00"),
    (R24, 86400, "01:00:00:00"),
    (R24, 24 * 86400 - 1, "23:59:59:23"),
    # 25
    (R25, 1, "00:00:00:01"),
    (R25, 24, "00:00:00:24"),
    (R25, 25, "00:00:01:00"),
    (R25, 1499, "00:00:59:24"),
    (R25, 1500, "00:01:00:00"),
    (R25, 90000, "01:00:00:00"),
    # 29.97 drop-frame
    (R2997, 0, "00:00:00;00"),
    (R2997, 1, "00:00:00;01"),
    (R2997, 2, "00:00:00;02"),
    (R2997, 29, "00:00:00;29"),
    (R2997, 30, "00:00:01;00"),
    (R2997, 1799, "00:00:59;29"),
    (R2997, 1800, "00:01:00;02"),  # ;00 and ;01 do not exist in minute 1
    (R2997, 1801, "00:01:00;03"),
    (R2997, 1827, "00:01:00;29"),
    (R2997, 1828, "00:01:01;00"),
    (R2997, 3597, "00:01:59;29"),  # 1800 + 1798 - 1
    (R2997, 3598, "00:02:00;02"),
    (R2997, 8 * 1798 + 1799, "00:08:59;29"),
    (R2997, 9 * 1798 + 2, "00:09:00;02"),
    (R2997, 17981, "00:09:59;29"),
    (R2997, 17982, "00:10:00;00"),  # every tenth minute keeps ;00 and ;01
    (R2997, 17983, "00:10:00;01"),
    (R2997, 17984, "00:10:00;02"),
    (R2997, 19781, "00:10:59;29"),
    (R2997, 19782, "00:11:00;02"),
    (R2997, 107891, "00:59:59;29"),
    (R2997, 107892, "01:00:00;00"),
    (R2997, 107892 + 1800, "01:01:00;02"),
    (R2997, 24 * 107892, "24:00:00;00"),
    # 30 non-drop: the same frame numbers read differently.
    (R30, 29, "00:00:00:29"),
    (R30, 30, "00:00:01:00"),
    (R30, 1800, "00:01:00:00"),
    (R30, 17982, "00:09:59:12"),
    (R30, 108000, "01:00:00:00"),
    # 59.94 drop-frame
    (R5994, 0, "00:00:00;00"),
    (R5994, 59, "00:00:00;59"),
    (R5994, 60, "00:00:01;00"),
    (R5994, 3599, "00:00:59;59"),
    (R5994, 3600, "00:01:00;04"),  # ;00 to ;03 do not exist in minute 1
    (R5994, 3601, "00:01:00;05"),
    (R5994, 7195, "00:01:59;59"),  # 3600 + 3596 - 1
    (R5994, 7196, "00:02:00;04"),
    (R5994, 35963, "00:09:59;59"),
    (R5994, 35964, "00:10:00;00"),
    (R5994, 35967, "00:10:00;03"),
    (R5994, 35964 + 3600, "00:11:00;04"),
    (R5994, 215784, "01:00:00;00"),
    # 60
    (R60, 59, "00:00:00:59"),
    (R60, 60, "00:00:01:00"),
    (R60, 3600, "00:01:00:00"),
    (R60, 216000, "01:00:00:00"),
]


@pytest.mark.parametrize(("rate", "frame", "timecode"), TIMECODES)
def test_format_timecode(rate: Rate, frame: int, timecode: str) -> None:
    assert format_timecode(frame, rate) == timecode


@pytest.mark.parametrize(("rate", "frame", "timecode"), TIMECODES)
def test_parse_timecode(rate: Rate, frame: int, timecode: str) -> None:
    assert parse_timecode(timecode, rate) == frame


@pytest.mark.parametrize(
    ("rate", "per_minute", "per_ten_minutes"),
    [(R2997, 1798, 17982), (R5994, 3596, 35964)],
)
def test_drop_frame_skips_exactly_the_first_numbers_of_each_non_tenth_minute(
    rate: Rate, per_minute: int, per_ten_minutes: int
) -> None:
    """Walking every frame of 20 minutes: labels are unique, increasing and round-trip, and the
    only labels missing are ``;00``.. at the start of minutes not divisible by ten."""
    nominal = rate.nominal
    drop = rate.drop_frames
    frames = range(2 * per_ten_minutes)
    labels = [format_timecode(f, rate) for f in frames]
    assert labels == sorted(labels)
    assert len(set(labels)) == len(labels)
    assert [parse_timecode(t, rate) for t in labels] == list(frames)

    every_label = {
        f"00:{mm:02d}:{ss:02d};{ff:02d}"
        for mm in range(20)
        for ss in range(60)
        for ff in range(nominal)
    }
    skipped = every_label - set(labels)
    expected = {f"00:{mm:02d}:00;{ff:02d}" for mm in range(20) if mm % 10 for ff in range(drop)}
    assert skipped == expected
    for mm in range(1, 10):
        first = nominal * 60 + (mm - 1) * per_minute
        assert labels[first] == f"00:{mm:02d}:00;{drop:02d}"
    assert labels[per_ten_minutes] == "00:10:00;00"


@pytest.mark.parametrize("rate", [R2997, R5994])
def test_drop_frame_timecode_keeps_to_the_wall_clock(rate: Rate) -> None:
    """The point of dropping numbers: 01:00:00;00 is within one frame of a real hour."""
    frame = parse_timecode("01:00:00;00", rate)
    assert abs(seconds_from_frames(frame, rate) - 3600) < 1 / rate.fraction
    # Non-drop counting of the same rate would be 3.6 seconds slow after an hour.
    assert abs(Fraction(rate.nominal * 3600) / rate.fraction - 3600) > 3


@pytest.mark.parametrize("rate", [R23976, R24, R25, R2997, R30, R5994, R60])
def test_round_trip_around_every_boundary(rate: Rate) -> None:
    nominal = rate.nominal
    interesting = {0, 1}
    for unit in (nominal, nominal * 60, nominal * 600, nominal * 3600):
        for base in (unit, unit * 2, unit * 10, unit * 11):
            interesting.update(range(base - 3, base + 4))
    for frame in sorted(interesting):
        assert parse_timecode(format_timecode(frame, rate), rate) == frame


def test_negative_frames_format_with_a_sign() -> None:
    assert format_timecode(-1, R30) == "-00:00:00:01"
    assert format_timecode(-1800, R2997) == "-00:01:00;02"


@pytest.mark.parametrize(
    ("text", "rate", "frame"),
    [
        ("0", R30, 0),
        ("150", R30, 150),
        (" 42 ", R25, 42),
        ("00:00:05:00", R25, 125),
        ("00:00:05:00", R23976, 120),
        ("00:01:00;02", R2997, 1800),
        ("00:10:00;00", R2997, 17982),
        ("00:01:00;04", R5994, 3600),
        ("01:00:00:00", R60, 216000),
        ("1:02:03:04", R24, (3600 + 120 + 3) * 24 + 4),
    ],
)
def test_parse_position_accepts_frames_and_timecode(text: str, rate: Rate, frame: int) -> None:
    assert parse_position(text, rate) == frame


BAD_POSITIONS: list[tuple[str, Rate, str]] = [
    ("-5", R30, "negative"),
    ("", R30, "is not HH:MM:SS:FF"),
    ("abc", R30, "is not HH:MM:SS:FF"),
    ("5.5", R30, "is not HH:MM:SS:FF"),
    ("1e3", R30, "is not HH:MM:SS:FF"),
    ("00:00:05", R30, "is not HH:MM:SS:FF"),
    ("-00:00:01:00", R30, "is not HH:MM:SS:FF"),
    ("00:00:00:30", R30, "out of range at 30 fps (frames run 00-29)"),
    ("00:00:00:25", R25, "out of range at 25 fps (frames run 00-24)"),
    ("00:00:00:24", R23976, "out of range"),
    ("00:00:00:60", R5994, "out of range"),
    ("00:00:60:00", R30, "out of range"),
    ("00:60:00:00", R30, "out of range"),
    ("00:01:00;00", R2997, "does not exist in drop-frame timecode"),
    ("00:01:00;01", R2997, "the first frame of minute 1 is 00:01:00;02"),
    ("00:09:00;01", R2997, "does not exist"),
    ("01:01:00;00", R2997, "does not exist"),
    ("00:01:00;03", R5994, "the first frame of minute 1 is 00:01:00;04"),
]


@pytest.mark.parametrize(("text", "rate", "reason"), BAD_POSITIONS)
def test_bad_positions_are_one_line_errors(text: str, rate: Rate, reason: str) -> None:
    with pytest.raises(ReelcutError) as info:
        parse_position(text, rate)
    message = str(info.value)
    assert reason in message
    assert repr(text.strip()) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "rate", "nominal", "drop"),
    [
        ("23.976", R23976, 24, 0),
        ("23.98", R23976, 24, 0),
        ("24000/1001", R23976, 24, 0),
        ("24", R24, 24, 0),
        ("48/2", R24, 24, 0),
        ("25", R25, 25, 0),
        ("25.0", R25, 25, 0),
        ("29.97", R2997, 30, 2),
        (" 30000 / 1001 ", R2997, 30, 2),
        ("30", R30, 30, 0),
        ("59.94", R5994, 60, 4),
        ("60000/1001", R5994, 60, 4),
        ("60", R60, 60, 0),
        ("1", Rate(1), 1, 0),
        ("1000", Rate(1000), 1000, 0),
    ],
)
def test_parse_rate(text: str, rate: Rate, nominal: int, drop: int) -> None:
    parsed = parse_rate(text)
    assert parsed == rate
    assert (parsed.nominal, parsed.drop_frames) == (nominal, drop)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is not a number"),
        ("abc", "is not a number"),
        ("-24", "is not a number"),
        ("24fps", "is not a number"),
        ("0", "out of range"),
        ("1/2", "out of range"),
        ("0.5", "out of range"),
        ("1001", "out of range"),
        ("30/0", "divides by zero"),
        ("0/0", "divides by zero"),
    ],
)
def test_bad_rates_are_one_line_errors(text: str, reason: str) -> None:
    with pytest.raises(ReelcutError) as info:
        parse_rate(text)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "rate", "frames"),
    [
        ("1", R30, 30),
        ("1", R2997, 29),  # 29.97 whole frames fit in a second
        ("1001/30000", R2997, 1),
        ("10", R2997, 299),
        ("3600", R2997, 107892),
        ("0.999", R30, 29),
        ("0.0332", R30, 0),  # 0.996 frames: not one
        ("0.0333", R30, 1),  # 0.999 frames: within the 1/1000-frame tolerance
        ("0.03333333", R30, 1),  # within 1/1000 of a frame of one
        ("2.5", R25, 62),
        ("0", R60, 0),
    ],
)
def test_frames_from_seconds(seconds: str, rate: Rate, frames: int) -> None:
    assert frames_from_seconds(seconds, rate) == frames


def test_seconds_from_frames_is_exact() -> None:
    assert seconds_from_frames(30, R2997) == Fraction(1001, 1000)
    assert seconds_from_frames(107892, R2997) == Fraction(107892 * 1001, 30000)
    assert frames_from_seconds(seconds_from_frames(12345, R23976), R23976) == 12345


def test_rate_prints_as_a_fraction_or_an_integer() -> None:
    assert str(R2997) == "30000/1001"
    assert str(R25) == "25"
