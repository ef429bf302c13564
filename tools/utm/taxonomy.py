"""A team's UTM taxonomy, read from a TOML file.

Everything sits under one ``[utm]`` table::

    [utm]
    case = "lower"          # lower | keep (default "lower")
    space = "-"             # what whitespace runs inside a value become (default "-")
    required = ["source", "medium"]     # parameters every tagged link must carry
    [utm.source]            # one table per parameter, named without the utm_ prefix
    allowed = ["facebook", "google"]
    aliases = { fb = "facebook", "facebook.com" = "facebook" }
    [utm.campaign]
    pattern = "^[a-z0-9-]+$"            # must match the whole fixed value
    required = ["campaign"]             # TOML puts a `required` written here in this table
    [utm.by_medium.email]
    required = ["content"]              # extra parameters required when utm_medium is "email"
    [utm.lead_source]
    by_source = { linkedin = "LinkedIn" }               # by_source wins over by_medium
    by_medium = { cpc = "Paid Search", email = "Email" }

- Any table under ``[utm]`` other than ``by_medium`` and ``lead_source`` is a parameter
  table: ``[utm.x]`` holds the rules for ``utm_x`` (``allowed``, ``aliases``, ``pattern``,
  ``required``). Names are lower case, without the ``utm_`` prefix.
- ``required`` is accepted at ``[utm]`` level and inside any parameter table (because of the
  TOML quirk above); all of them together are the parameters every tagged link must carry.
  ``[utm.by_medium.<medium>] required`` adds parameters for links of that medium; the medium
  is matched after fixing, so an alias or another spelling of it counts.
- Allowed values, alias keys and alias targets are normalised with the case and space rules
  at load, so ``"Facebook.com"`` as an alias key matches ``facebook.com``. Alias targets must
  be allowed, match the pattern and not be aliases themselves, which keeps fixing idempotent.
- Misspelt keys, bad regexes and inconsistent rules fail at load with a `TaxonomyError`
  naming the file and the key. One misspelling cannot be caught: a misspelt parameter table
  (``[utm.sorce]``) reads as the rules for a custom parameter ``utm_sorce``.
- ``space`` is ``" "`` or a string without whitespace (``"-"``, ``"_"``, ``""``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.errors import InputError
from tools.utm.values import PREFIX, Fixed, ValueRule, normalise

_RESERVED = frozenset({"case", "space", "required", "by_medium", "lead_source"})
_PARAM_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class TaxonomyError(InputError):
    """A taxonomy file that cannot be read, parsed or used; names the file and the key."""

    def __init__(self, detail: str, *, file: str | None = None, key: str | None = None) -> None:
        self.detail, self.key = detail, key
        super().__init__(detail, file=file, field=key)


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamTable(_Table):
    """``[utm.<param>]``: the rules for one parameter, as written in the file."""

    allowed: tuple[str, ...] | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    pattern: str | None = None
    required: tuple[str, ...] = ()


class MediumTable(_Table):
    """``[utm.by_medium.<medium>]``: what links of one medium must carry besides the rest."""

    required: tuple[str, ...] = ()


class LeadSourceTable(_Table):
    """``[utm.lead_source]``: the lead source to derive from a link's source or medium."""

    by_source: dict[str, str] = Field(default_factory=dict)
    by_medium: dict[str, str] = Field(default_factory=dict)


class TaxonomyConfig(_Table):
    """The ``[utm]`` table as written; `Taxonomy` is its compiled, normalised form."""

    case: Literal["lower", "keep"] = "lower"
    space: str = "-"
    required: tuple[str, ...] = ()
    params: dict[str, ParamTable] = Field(default_factory=dict)
    by_medium: dict[str, MediumTable] = Field(default_factory=dict)
    lead_source: LeadSourceTable = Field(default_factory=LeadSourceTable)

    @classmethod
    def from_table(cls, utm: Mapping[str, Any]) -> TaxonomyConfig:
        """Validate the ``[utm]`` table of a parsed file: its sub-tables become `params`."""
        fields = {key: value for key, value in utm.items()
                  if key in _RESERVED or not isinstance(value, dict)}
        if "params" in fields:                      # a value, not a table: not ours either
            raise TaxonomyError("unknown key", key="utm.params")
        fields["params"] = {key: value for key, value in utm.items() if key not in fields}
        return cls.model_validate(fields)

    @field_validator("space")
    @classmethod
    def _space_is_a_space_or_has_no_whitespace(cls, space: str) -> str:
        # Fixing must be idempotent: a second fix collapses any whitespace run to `space`.
        if space != " " and "".join(space.split()) != space:
            raise ValueError('must be " " or contain no whitespace')
        return space


class Taxonomy:
    """A taxonomy ready for use: per-parameter rules and lookups, normalised once.

    Built from a `TaxonomyConfig` (kept as `config`); raises `TaxonomyError` naming the key
    when the rules do not hang together. A plain object, so the hot path pays no pydantic
    attribute cost.
    """

    __slots__ = ("config", "_rules", "_default", "_required", "_by_medium", "_leads")

    def __init__(self, config: TaxonomyConfig) -> None:
        self.config = config
        lower, space = config.case == "lower", config.space
        self._default = ValueRule(PREFIX + "*", lower=lower, space=space)
        self._rules = {
            PREFIX + name: _compile(name, table, lower=lower, space=space)
            for name, table in config.params.items()
        }
        required = _names(config.required, "utm.required")
        for param, table in config.params.items():
            required += _names(table.required, f"utm.{_key(param)}.required")
        self._required = tuple(dict.fromkeys(PREFIX + name for name in required))
        self._by_medium: dict[str, tuple[str, ...]] = {}
        for medium, extra in config.by_medium.items():
            key = f"utm.by_medium.{_key(medium)}"
            fixed = self._fixed_key("utm_medium", medium, key)
            if fixed in self._by_medium:
                raise TaxonomyError(f"{fixed!r} is listed twice", key=key)
            names = _names(extra.required, f"{key}.required")
            self._by_medium[fixed] = tuple(dict.fromkeys(
                (*self._required, *(PREFIX + name for name in names))
            ))
        self._leads = {
            param: self._lead_map(param, mapping, f"utm.lead_source.by_{param[4:]}")
            for param, mapping in (("utm_source", config.lead_source.by_source),
                                   ("utm_medium", config.lead_source.by_medium))
        }

    def rule(self, param: str) -> ValueRule:
        """The compiled rule for `param` (a full name such as ``utm_source``)."""
        rule = self._rules.get(param) or self._rules.get(param.lower())   # or UTM_Source
        if rule is not None:
            return rule
        if not param.lower().startswith(PREFIX):
            raise ValueError(f"{param!r} is not a utm_ parameter")
        return self._default

    def required_for(self, medium: str | None) -> tuple[str, ...]:
        """Full names of the parameters a tagged link must carry, given its fixed utm_medium."""
        return self._by_medium.get(medium, self._required) if medium else self._required

    def lead_source(self, source: str | None, medium: str | None) -> str | None:
        """The lead source for a link's utm_source and utm_medium, or None if undecidable.

        Both are fixed first. A source in ``by_source`` wins; otherwise the medium decides
        through ``by_medium``. A source that is given but needs a decision makes the answer
        None: the medium must not overrule a source we could not read.
        """
        if source is not None and source.strip():
            fixed = self.rule("utm_source").fix(source)
            if not isinstance(fixed, Fixed):
                return None
            if fixed.value in self._leads["utm_source"]:
                return self._leads["utm_source"][fixed.value]
        if medium is None or not medium.strip():
            return None
        fixed = self.rule("utm_medium").fix(medium)
        return self._leads["utm_medium"].get(fixed.value) if isinstance(fixed, Fixed) else None

    def _fixed_key(self, param: str, value: str, key: str) -> str:
        fixed = self.rule(param).fix(value)
        if not isinstance(fixed, Fixed):
            raise TaxonomyError(fixed.reason, key=key)
        return fixed.value

    def _lead_map(self, param: str, mapping: Mapping[str, str], where: str) -> dict[str, str]:
        leads: dict[str, str] = {}
        for value, lead in mapping.items():
            key = f"{where}.{_key(value)}"
            fixed = self._fixed_key(param, value, key)
            if not lead.strip():
                raise TaxonomyError("lead source is empty", key=key)
            if leads.setdefault(fixed, lead) != lead:
                raise TaxonomyError(f"{fixed!r} is already mapped to {leads[fixed]!r}", key=key)
        return leads


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read a taxonomy from a TOML file; any problem is a `TaxonomyError` naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"cannot read: {error.strerror or error}", file=str(path)) from None
    except UnicodeDecodeError:
        raise TaxonomyError("not UTF-8 text", file=str(path)) from None
    return parse_taxonomy(text, file=str(path))


def parse_taxonomy(text: str, *, file: str = "<taxonomy>") -> Taxonomy:
    """A taxonomy from TOML text; `file` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TaxonomyError(f"not valid TOML: {error}", file=file) from None
    unknown = sorted(set(data) - {"utm"})
    if unknown:
        raise TaxonomyError("unknown key (everything sits under [utm])", file=file,
                            key=_key(unknown[0]))
    if not isinstance(data.get("utm"), dict):
        raise TaxonomyError("no [utm] table", file=file, key="utm")
    try:
        return Taxonomy(TaxonomyConfig.from_table(data["utm"]))
    except ValidationError as error:
        raise _from_validation(error, file) from None
    except TaxonomyError as error:
        raise TaxonomyError(error.detail, file=file, key=error.key) from None


def _compile(name: str, table: ParamTable, *, lower: bool, space: str) -> ValueRule:
    where = f"utm.{_key(name)}"
    if name.startswith(PREFIX):
        raise TaxonomyError(f"name the table without the utm_ prefix: [utm.{name[4:]}]",
                            key=where)
    if not _PARAM_NAME.fullmatch(name):
        raise TaxonomyError("a parameter name is lower-case letters, digits and _", key=where)
    pattern = _regex(table.pattern, f"{where}.pattern")
    allowed = None
    if table.allowed is not None:
        allowed = tuple(_normalised(table.allowed, f"{where}.allowed", lower, space))
        for value in allowed:
            _check_pattern(pattern, value, f"{where}.allowed")
    aliases: dict[str, str] = {}
    keys: dict[str, str] = {}                       # normalised alias → its key path
    for alias, target in table.aliases.items():
        key = keys.setdefault(
            normalise(alias, lower=lower, space=space), f"{where}.aliases.{_key(alias)}")
        [alias_n, target_n] = _normalised([alias, target], key, lower, space)
        if allowed is not None and target_n not in allowed:
            raise TaxonomyError(f"{target_n!r} is not in {where}.allowed", key=key)
        _check_pattern(pattern, target_n, key)
        if aliases.setdefault(alias_n, target_n) != target_n:
            raise TaxonomyError(f"{alias_n!r} is already an alias of {aliases[alias_n]!r}",
                                key=f"{where}.aliases.{_key(alias)}")
    for alias, target in aliases.items():
        if target != alias and aliases.get(target, target) != target:
            raise TaxonomyError(f"{target!r} is an alias itself; point at the final value",
                                key=keys[alias])
    aliases = {alias: target for alias, target in aliases.items() if alias != target}
    return ValueRule(PREFIX + name, lower=lower, space=space, allowed=allowed,
                     aliases=aliases, pattern=pattern)


def _regex(pattern: str | None, key: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise TaxonomyError(f"not a valid regular expression: {error}", key=key) from None


def _check_pattern(pattern: re.Pattern[str] | None, value: str, key: str) -> None:
    if pattern is not None and not pattern.fullmatch(value):
        raise TaxonomyError(f"{value!r} does not match the pattern {pattern.pattern!r}", key=key)


def _normalised(values: Iterable[str], key: str, lower: bool, space: str) -> list[str]:
    normalised = [normalise(value, lower=lower, space=space) for value in values]
    if "" in normalised:
        raise TaxonomyError("empty value", key=key)
    return normalised


def _names(names: Iterable[str], key: str) -> list[str]:
    for name in names:
        if name.startswith(PREFIX):
            raise TaxonomyError(f"write {name[4:]!r}, without the utm_ prefix", key=key)
        if not _PARAM_NAME.fullmatch(name):
            raise TaxonomyError(f"{name!r} is not a parameter name", key=key)
    return list(names)


def _key(name: str | int) -> str:
    """One part of a dotted key path, quoted as TOML would need it."""
    text = str(name)
    return text if _BARE_KEY.fullmatch(text) else f'"{text}"'


def _from_validation(error: ValidationError, file: str) -> TaxonomyError:
    """The first problem pydantic found, with its TOML key path (``params`` left out)."""
    first = error.errors()[0]
    loc = first["loc"][1:] if first["loc"][:1] == ("params",) else first["loc"]
    path = ["utm", *(_key(part) for part in loc)]
    if first["type"] == "extra_forbidden":
        detail = "unknown key"
    elif first["type"] == "value_error":
        detail = str(first["ctx"]["error"])
    else:                                           # TOML says array, not tuple
        detail = first["msg"].replace("valid tuple", "list")
    more = error.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return TaxonomyError(detail + suffix, file=file, key=".".join(path))
