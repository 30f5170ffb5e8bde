"""Approved templates of the channels that send no free text (``channels:`` in messages.yaml).

A mainland SMS provider (Aliyun) only sends wording it approved beforehand: a template code and
named variables. For each such channel, ``messages.yaml`` maps every kind of outbox text and
language to the approved code, the ordered parameters the template takes, and the approved
wording (``${name}`` for a parameter), so the wording's length can be checked when the file
loads: with every parameter at its longest (``param_max_chars``) and the signature, a text must
fit the channel's ``max_segments`` counted the way that channel counts.

A language may be left out: its texts then use the ``zh-Hans`` template (the approved Chinese
wording), which every configured channel must have for every kind.

Links: Aliyun approves a link only as fixed text with at most a variable tail
(``https://rota.example.com/${path}``), and a variable of at most 35 characters. ``${path}`` is
the link less ``TESTROTA_PUBLIC_URL`` and its slash; :func:`link_problems` finds, when the channel
starts, the kinds whose wording does not write that address right before it, or whose links
cannot fit their variable: those fail before the wire (``link_not_sendable``) and the doctor
names them, instead of the provider refusing each text; the other kinds go on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from testrota.errors import UserError
from testrota.notify.links import PERSONAL_PATH, TOKEN_CHARS

# The channels that need approved templates, and how each counts a text's length.
# Aliyun: every character (Chinese, Latin, digit, punctuation) counts one; 70 fit one text,
# a longer one is split in parts of 67; the 【signature】 counts too.
SINGLE_PART = {"aliyun": 70}
PER_PART = {"aliyun": 67}
TEMPLATE_CHANNELS = tuple(SINGLE_PART)
FALLBACK_LANGUAGE = "zh-Hans"

# The outbox kinds every configured channel needs a template for (the replies to inbound texts
# are answered by Twilio only). Kinds added later go here and into templates.PLACEHOLDERS.
OUTBOX_KINDS = (
    "reminder_eve",
    "reminder_before",
    "missed",
    "recheck",
    "positive_alert",
    "digest",
    "booster",
    "confirm_late",
    "plan_changed",
)

# Default longest value of each parameter (a value longer is cut at send time, the link never):
# Aliyun allows 35 characters for a variable unless the template was approved otherwise.
DEFAULT_MAX_CHARS: Mapping[str, int] = {
    "name": 10,
    "date": 8,
    "time": 5,
    "site": 20,
    "link": 35,
    "path": 35,  # the link less the public address, written before it in the wording
    "person": 10,
    "employee_no": 12,
    "department": 15,
    "grid_unit": 15,
    "contacts": 4,
    "count": 5,
    "departments": 35,
    "unit": 20,
    "deadline": 5,
    "when": 35,  # "5月10日周二 08:00，" and a site's name
}
SIGN_NAME_MAX_CHARS = 12  # Aliyun signatures are 2-12 characters
# The longest link path of each kind, after TESTROTA_PUBLIC_URL and its slash, as the texts
# build them (held to the builders by tests/test_channel_links.py).
_PERSONAL = len(PERSONAL_PATH) + TOKEN_CHARS  # notify.links: me/{token}
LINK_PATHS: Mapping[str, int] = {
    "reminder_eve": _PERSONAL,
    "reminder_before": _PERSONAL,
    "missed": _PERSONAL,
    "recheck": _PERSONAL,
    "booster": _PERSONAL,
    "plan_changed": _PERSONAL,
    "positive_alert": len("alerts"),  # notify.enqueue
    "digest": len("missed?week=2022-W19"),  # notify.enqueue
    # org.reminders: a unit id of up to 6 digits
    "confirm_late": len("report/daily?date=20220510&u=999999"),
}
LINK_PARAMS = ("link", "path")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def channel_units(channel: str, text: str) -> int:
    """The length of ``text`` as ``channel`` counts it."""
    return len(text)


def channel_segments(channel: str, units: int) -> int:
    """How many texts ``channel`` bills for a message of ``units`` characters."""
    single, part = SINGLE_PART[channel], PER_PART[channel]
    if units <= single:
        return 1
    return -(-units // part)


@dataclass(frozen=True)
class ChannelTemplate:
    code: str  # the provider's approved template code, e.g. SMS_270000001
    params: tuple[str, ...]  # our parameter names, in the template's order
    text: str  # the approved wording with ${param}


@dataclass(frozen=True)
class ChannelCall:
    """What a template channel sends for one text: the code and the parameter values."""

    code: str
    params: dict[str, str]  # in the template's order


@dataclass(frozen=True)
class ChannelSet:
    channel: str
    max_segments: int
    max_chars: Mapping[str, int]
    templates: Mapping[str, Mapping[str, ChannelTemplate]]  # language -> kind -> template

    def template(self, kind: str, language: str | None) -> ChannelTemplate | None:
        lang = (
            language if language is not None and language in self.templates else FALLBACK_LANGUAGE
        )
        found = self.templates.get(lang, {}).get(kind)
        if found is None and lang != FALLBACK_LANGUAGE:
            found = self.templates.get(FALLBACK_LANGUAGE, {}).get(kind)
        return found

    def call(
        self,
        kind: str,
        language: str | None,
        values: Mapping[str, object],
        public_url: str = "",
    ) -> ChannelCall | None:
        """The template and values for one text; None when ``kind`` has no template.

        Values are cut to their longest allowed length (the one the wording was checked with),
        except a link, which would not open cut: one too long is :class:`LinkNotSendable`.
        ``path`` is the text's ``link`` less ``public_url``.
        """
        template = self.template(kind, language)
        if template is None:
            return None
        params: dict[str, str] = {}
        for name in template.params:
            raw = values.get("link" if name == "path" else name)
            value = "" if raw is None else " ".join(str(raw).split())
            limit = self.max_chars.get(name)
            if name == "path":
                value = link_path(value, public_url)
            if name in LINK_PARAMS:
                if limit is not None and len(value) > limit:
                    raise LinkNotSendable(
                        f"the {name} {value!r} is {len(value)} characters, more than the "
                        f"{limit} the template was approved with; a cut link would not open"
                    )
            elif limit is not None and len(value) > limit:
                value = value[: max(limit - 1, 0)] + "…"
            params[name] = value
        return ChannelCall(template.code, params)


class LinkNotSendable(ValueError):
    """A text's link does not fit its template: refused before the provider sees it."""


def link_path(link: str, public_url: str) -> str:
    """``link`` less ``public_url`` and its slash, for a wording that writes the address."""
    base = public_url.rstrip("/") + "/"
    if not public_url or not link.startswith(base) or len(link) == len(base):
        raise LinkNotSendable(
            f"the link {link!r} is not a page under TESTROTA_PUBLIC_URL {public_url!r}, which "
            "the approved wording writes before ${path}"
        )
    return link[len(base) :]


def link_problems(
    channel: ChannelSet, public_url: str, source: str
) -> dict[tuple[str, str], UserError]:
    """The templates whose links the provider would refuse one text at a time, by
    (language, kind): a ``${path}`` not written right after ``TESTROTA_PUBLIC_URL`` in the
    approved wording, or links of the kind longer than the variable that carries them. The
    channel keeps sending the other kinds; these fail before the wire as ``link_not_sendable``
    and the doctor names them."""
    public_url = public_url.rstrip("/")
    scheme, _, rest = public_url.partition("://")
    address = rest or scheme
    # The address whole: not the tail of another (xrota.example.com, evil.cn/rota.example.com)
    # nor glued to what follows, which a phone would take into the link (".", ")").
    written = re.compile(
        r"(?<![\x21-\x7e])(?:"
        + re.escape(scheme)
        + r"://)?"
        + re.escape(address)
        + r"/\$\{path\}(?![\x21-\x7e])"
    )
    found: dict[tuple[str, str], UserError] = {}
    for language, kinds in sorted(channel.templates.items()):
        for kind, template in sorted(kinds.items()):
            where = f"channels.{channel.channel}.templates.{language}.{kind}"
            problem = _link_problem(
                channel, template, kind, where, written, public_url, address, source
            )
            if problem is not None:
                found[language, kind] = problem
    return found


def _link_problem(
    channel: ChannelSet,
    template: ChannelTemplate,
    kind: str,
    where: str,
    written: re.Pattern[str],
    public_url: str,
    address: str,
    source: str,
) -> UserError | None:
    if "path" in template.params and not written.search(template.text):
        return UserError(
            "{source}: {where}: the approved wording must write the address {address}/ right "
            "before ${{path}}, and nothing right after it, as TESTROTA_PUBLIC_URL is "
            "{public_url}; have the wording approved with this address, or set "
            "TESTROTA_PUBLIC_URL to the one it writes",
            source=source,
            where=where,
            address=address,
            public_url=public_url,
        )
    for name in LINK_PARAMS:
        if name not in template.params:
            continue
        longest = LINK_PATHS[kind] + (len(public_url) + 1 if name == "link" else 0)
        limit = channel.max_chars[name]
        if longest > limit:
            return UserError(
                "{source}: {where}: its links are up to {longest} characters, more than the "
                "{limit} {channel} takes in ${{{name}}}; write {address}/${{path}} in the "
                "approved wording (the address fixed, as {channel} asks), or raise "
                "param_max_chars.{name} if {channel} approved a longer variable",
                source=source,
                where=where,
                longest=longest,
                limit=limit,
                channel=channel.channel,
                name=name,
                address=address,
            )
    return None


def parse_channels(
    data: object, placeholders: Mapping[str, frozenset[str]], source: str
) -> dict[str, ChannelSet]:
    """Validate the ``channels:`` section of messages.yaml (None or a mapping)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(
            "{source}: channels must be a mapping of channel -> settings", source=source
        )
    out: dict[str, ChannelSet] = {}
    for channel, section in data.items():
        key = f"channels.{channel}"
        if channel not in TEMPLATE_CHANNELS:
            raise UserError(
                "{source}: {key}: unknown channel; templates are for {channels}",
                source=source,
                key=key,
                channels=", ".join(TEMPLATE_CHANNELS),
            )
        out[channel] = _parse_channel(channel, section, placeholders, source, key)
    return out


def _parse_channel(
    channel: str,
    section: object,
    placeholders: Mapping[str, frozenset[str]],
    source: str,
    key: str,
) -> ChannelSet:
    if not isinstance(section, dict):
        raise UserError(
            "{source}: {key} must be a mapping (max_segments, templates)", source=source, key=key
        )
    unknown_keys = set(section) - {"max_segments", "param_max_chars", "templates"}
    if unknown_keys:
        raise UserError(
            "{source}: {key} has unknown key(s) {unknown}",
            source=source,
            key=key,
            unknown=", ".join(sorted(unknown_keys)),
        )
    max_segments = section.get("max_segments", 2)
    if not isinstance(max_segments, int) or not 1 <= max_segments <= 10:
        raise UserError(
            "{source}: {key}.max_segments must be a whole number from 1 to 10",
            source=source,
            key=key,
        )
    max_chars = dict(DEFAULT_MAX_CHARS)
    limits = section.get("param_max_chars") or {}
    if not isinstance(limits, dict):
        raise UserError(
            "{source}: {key}.param_max_chars must map parameter -> characters",
            source=source,
            key=key,
        )
    known = frozenset().union(*placeholders.values(), LINK_PARAMS)
    for name, limit in limits.items():
        if name not in known:
            raise UserError(
                "{source}: {key}.param_max_chars.{name}: unknown parameter",
                source=source,
                key=key,
                name=name,
            )
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise UserError(
                "{source}: {key}.param_max_chars.{name} must be a whole number from 1 to 500",
                source=source,
                key=key,
                name=name,
            )
        max_chars[name] = limit
    by_language = section.get("templates")
    if not isinstance(by_language, dict) or not by_language:
        raise UserError(
            "{source}: {key}.templates must map language -> kind -> template",
            source=source,
            key=key,
        )
    templates: dict[str, dict[str, ChannelTemplate]] = {}
    for language, kinds in by_language.items():
        where = f"{key}.templates.{language}"
        if language not in ("zh-Hans", "en"):
            raise UserError(
                "{source}: {where}: unknown language; use zh-Hans or en", source=source, where=where
            )
        if not isinstance(kinds, dict):
            raise UserError(
                "{source}: {where} must map kind -> template", source=source, where=where
            )
        templates[language] = {}
        for kind, entry in kinds.items():
            if kind not in OUTBOX_KINDS:
                raise UserError(
                    "{source}: {where}.{kind}: unknown kind; kinds: {kinds}",
                    source=source,
                    where=where,
                    kind=kind,
                    kinds=", ".join(OUTBOX_KINDS),
                )
            templates[language][kind] = _parse_template(
                channel,
                entry,
                _with_path(placeholders[kind]),
                max_chars,
                max_segments,
                source,
                f"{where}.{kind}",
            )
    missing = [k for k in OUTBOX_KINDS if k not in templates.get(FALLBACK_LANGUAGE, {})]
    if missing:
        raise UserError(
            "{source}: {key}.templates.{fallback} has no template for "
            "{missing} (every kind needs one; other languages fall back to it)",
            source=source,
            key=key,
            fallback=FALLBACK_LANGUAGE,
            missing=", ".join(missing),
        )
    return ChannelSet(channel, max_segments, max_chars, templates)


def _with_path(allowed: frozenset[str]) -> frozenset[str]:
    """A kind with a link may take it as ``${path}`` after the address written out."""
    return allowed | {"path"} if "link" in allowed else allowed


def _parse_template(
    channel: str,
    entry: object,
    allowed: frozenset[str],
    max_chars: Mapping[str, int],
    max_segments: int,
    source: str,
    where: str,
) -> ChannelTemplate:
    if not isinstance(entry, dict) or set(entry) - {"code", "params", "text"}:
        raise UserError(
            "{source}: {where} must have code, params and text (and nothing else)",
            source=source,
            where=where,
        )
    code, params, text = entry.get("code"), entry.get("params"), entry.get("text")
    if not isinstance(code, str) or not _CODE.match(code):
        raise UserError(
            "{source}: {where}.code must be the approved template code, e.g. SMS_1",
            source=source,
            where=where,
        )
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise UserError(
            "{source}: {where}.params must be a list of parameter names", source=source, where=where
        )
    if len(set(params)) != len(params):
        raise UserError(
            "{source}: {where}.params names a parameter twice", source=source, where=where
        )
    unknown = [p for p in params if p not in allowed]
    if unknown:
        raise UserError(
            "{source}: {where}.params: unknown parameter(s) {unknown}; allowed: {allowed}",
            source=source,
            where=where,
            unknown=", ".join(unknown),
            allowed=", ".join(sorted(allowed)) or "none",
        )
    if not isinstance(text, str) or not text.strip():
        raise UserError(
            "{source}: {where}.text must be the approved wording, ${{param}} each",
            source=source,
            where=where,
        )
    named = _VARIABLE.findall(text)
    if sorted(set(named)) != sorted(params):
        raise UserError(
            "{source}: {where}: text uses {named} but params lists {params}; they must match",
            source=source,
            where=where,
            named=", ".join(sorted(set(named))) or "no parameter",
            params=", ".join(params) or "none",
        )
    longest = _VARIABLE.sub(lambda m: "x" * max_chars.get(m.group(1), 35), text)
    units = channel_units(channel, longest) + SIGN_NAME_MAX_CHARS + 2  # 【signature】
    segments = channel_segments(channel, units)
    if segments > max_segments:
        raise UserError(
            "{source}: {where}: with every parameter at its longest and the signature this "
            "text is {units} characters, {segments} {channel} texts; the limit is "
            "{max_segments} (shorten it or lower param_max_chars)",
            source=source,
            where=where,
            units=units,
            segments=segments,
            channel=channel,
            max_segments=max_segments,
        )
    return ChannelTemplate(code, tuple(params), text)
