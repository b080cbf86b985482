"""Open enums print and format as their value on every Python version."""

from __future__ import annotations

import enum

import pytest

from authmatech import models

OPEN_ENUMS = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, enum.Enum) and issubclass(value, str)
]


def test_every_model_enum_is_covered() -> None:
    assert models.Decision in OPEN_ENUMS
    assert models.RiskLevel in OPEN_ENUMS
    assert len(OPEN_ENUMS) >= 8


@pytest.mark.parametrize("kind", OPEN_ENUMS, ids=lambda kind: kind.__name__)
def test_str_format_and_fstring_give_the_value(kind: type[enum.Enum]) -> None:
    for member in kind:
        value = member.value
        assert str(member) == value
        assert f"{member}" == value
        assert format(member) == value
        assert f"{member:>12}" == f"{value:>12}"
        assert "%s" % member == value  # noqa: UP031
        assert member == value
        assert repr(member) == f"<{kind.__name__}.{member.name}: {value!r}>"


def test_the_quickstart_print_shows_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    score = models.TrustScore(trust_score=91, recommendation=models.Decision.ALLOW)
    print(score.trust_score, score.recommendation)
    assert capsys.readouterr().out == "91 ALLOW\n"
