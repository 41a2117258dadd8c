"""Search spaces: the range a study draws each setting from. Each model declares its own next to
its settings (``SEARCH_SPACE`` on its config class); ``--space KEY=LOW:HIGH[:log|:int]`` or
``--space KEY=A,B,C`` replaces one entry."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from movierec.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high`` (both included).

    Attributes:
        log: drawn evenly on a log scale (``low`` must then be above 0).
        integer: whole numbers only.
    """

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ConfigError(f"a range needs finite ends, got {self.low:g}:{self.high:g}")
        if self.low >= self.high:
            what = "empty" if self.low == self.high else "inverted"
            raise ConfigError(f"the range {self.text()} is {what}: LOW must be below HIGH")
        if self.log and self.low <= 0:
            raise ConfigError(f"the log range {self.text()} must start above 0")
        if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ConfigError(f"the whole-number range {self.text()} needs whole ends")

    def suggest(self, trial, name: str):
        """Optuna's draw of setting ``name`` in this range."""
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    @property
    def ends(self) -> tuple:
        return (int(self.low), int(self.high)) if self.integer else (self.low, self.high)

    def distribution(self):
        """Optuna's distribution of this range."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def text(self) -> str:
        """As ``--space`` takes it: ``LOW:HIGH[:log][:int]``."""
        flags = (":log" if self.log else "") + (":int" if self.integer else "")
        return f"{_number(self.low)}:{_number(self.high)}{flags}"


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (numbers, words, or layer lists such as ``256,128`` for a tuple
    setting, written with ``+`` on the command line: ``hidden=128+128,256``)."""

    values: tuple

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ConfigError(f"a choice needs two values or more, got {list(self.values)}")
        if len(set(self.values)) != len(self.values):
            raise ConfigError(f"the choice {self.text()} repeats a value")

    @property
    def ends(self) -> tuple:
        return self.values

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.values))

    def distribution(self):
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.values))

    def text(self) -> str:
        return ",".join(_number(v) if isinstance(v, float) else str(v).replace(",", "+")
                        for v in self.values)


Param = Range | Choice


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _value(text: str):
    """A choice's value: a whole number, a number, or the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_param(item: str) -> tuple[str, Param]:
    """``KEY=LOW:HIGH[:log|:int]`` or ``KEY=A,B,C`` as ``(key, param)``.

    Raises:
        ConfigError: anything else, an empty or inverted range, a one-value choice.
    """
    key, sep, value = item.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key or not value.strip():
        raise ConfigError(f"--space expects KEY=LOW:HIGH[:log|:int] or KEY=A,B,C, got {item!r}")
    value = value.strip()
    if ":" in value:
        low, high, *flags = value.split(":")
        unknown = sorted(set(flags) - {"log", "int"})
        if unknown:
            raise ConfigError(f"--space {item!r}: unknown flag(s) {', '.join(unknown)} "
                              "(log, int)")
        try:
            ends = float(low), float(high)
        except ValueError:
            raise ConfigError(f"--space {item!r}: LOW and HIGH must be numbers") from None
        try:
            return key, Range(*ends, "log" in flags, "int" in flags)
        except ConfigError as exc:
            raise ConfigError(f"--space {key}: {exc}") from None
    values = tuple(_value(v.strip().replace("+", ",")) for v in value.split(","))
    if any(v == "" for v in values):
        raise ConfigError(f"--space {item!r} has an empty value")
    try:
        return key, Choice(values)
    except ConfigError as exc:
        raise ConfigError(f"--space {key}: {exc}") from None


def to_json(space: dict[str, Param]) -> str:
    """A space as text (kept with the study), read back by :func:`from_json`."""
    return json.dumps({k: {"range": [p.low, p.high, p.log, p.integer]} if isinstance(p, Range)
                       else {"choice": list(p.values)} for k, p in space.items()},
                      sort_keys=True)


def from_json(text: str) -> dict[str, Param]:
    found = {}
    for key, entry in json.loads(text).items():
        found[key] = Range(*entry["range"]) if "range" in entry else Choice(tuple(entry["choice"]))
    return found
