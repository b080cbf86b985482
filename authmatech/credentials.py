"""Secrets and the credentials a client holds.

A :class:`Secret` never shows its value in ``repr``/``str``: only a short SHA-256 fingerprint,
which is enough to tell two keys apart in logs. :class:`Credentials` applies the hygiene rules
the docs give for "persistent 401s" (stray whitespace, line breaks, quotes) once, at the edge.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping

import attrs

from ._frameless import frameless_configuration_errors, without_frames
from ._repr import tolerant_repr
from .errors import ConfigurationError

__all__ = ["Credentials", "Secret", "clean_credential"]

ENV_CLIENT_ID = "AUTHMATECH_CLIENT_ID"
ENV_API_KEY = "AUTHMATECH_API_KEY"
ENV_CLIENT_SECRET = "AUTHMATECH_CLIENT_SECRET"
ENV_SDK_TOKEN = "AUTHMATECH_SDK_TOKEN"

_MAX_CREDENTIAL_LENGTH = 4096
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{12}")


@tolerant_repr
class Secret:
    """A secret string that shows only its fingerprint.

    >>> key = Secret("sk_live_123")
    >>> key
    Secret('sha256:46e8faffd30e')
    >>> key.reveal()
    'sk_live_123'

    The value is kept in a closure, not in an attribute, so that nothing that walks objects
    (``vars``, ``__slots__``, ``attrs.asdict``, ``rich.pretty``, debuggers) meets it. A Secret
    refuses to be pickled or copied. An exception that carries one pickles it *withheld*: only
    the fingerprint travels, and ``reveal()`` on the copy raises :class:`ConfigurationError`.
    """

    __slots__ = ("_fingerprint", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise ConfigurationError(f"a Secret wraps a str, not {type(value).__name__}")
        self._value: Callable[[], str] | None = _holding(value)
        # surrogatepass: a str with a lone surrogate still gets a fingerprint (it cannot travel
        # in a header, and Credentials refuses it with a clear message)
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        self._fingerprint = "sha256:" + digest[:12]

    @classmethod
    def withheld(cls, fingerprint: str) -> Secret:
        """A Secret known only by its fingerprint (what survives a pickle): ``reveal()`` raises."""
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise ConfigurationError(
                "Secret.withheld takes a fingerprint such as 'sha256:46e8faffd30e' (what "
                "Secret.fingerprint gives)"
            )
        secret: Secret = object.__new__(cls)
        secret._value = None
        secret._fingerprint = fingerprint
        return secret

    @property
    def is_withheld(self) -> bool:
        """Whether only the fingerprint is known (the value stayed in another process)."""
        return self._value is None

    def reveal(self) -> str:
        """The raw value. Call it only where the value must travel (a header, a body)."""
        value = self._value
        if value is None:
            raise ConfigurationError(
                f"the secret {self._fingerprint} was withheld when the object holding it was "
                "pickled (secrets never travel in pickles); read it in the process that "
                "received it"
            )
        return value()

    @property
    def fingerprint(self) -> str:
        """``sha256:`` and the first 12 hex digits of the value's SHA-256: safe to log."""
        return self._fingerprint

    def __repr__(self) -> str:
        if self._value is None:
            return f"Secret.withheld({self._fingerprint!r})"
        return f"Secret({self._fingerprint!r})"

    def __str__(self) -> str:
        return self._fingerprint

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            if self._value is None or other._value is None:
                return self._fingerprint == other._fingerprint
            import hmac

            return hmac.compare_digest(
                self._value().encode("utf-8", "surrogatepass"),
                other._value().encode("utf-8", "surrogatepass"),
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __reduce__(self) -> tuple[object, ...]:
        if self._value is None:
            return (Secret.withheld, (self._fingerprint,))
        raise TypeError("Secret refuses to be pickled; pass the raw value explicitly if you must")


def _holding(value: str) -> Callable[[], str]:
    return lambda: value


class _IssuedKey(Secret):
    """An API key the server issued (a rotation or a generation): the server's truth.

    The hygiene checks of :func:`clean_credential` exist to catch copy-paste mistakes in what
    a *user* passes; a key the server just issued is used as it is (the core already removed
    surrounding whitespace and made sure an HTTP header can carry it), so :class:`Credentials`
    does not check it again.
    """

    __slots__ = ()


def issued_key(value: str) -> Secret:
    """``value`` (a key the server issued) as a :class:`Secret` that credentials take as is."""
    return _IssuedKey(value)


def clean_credential(value: str | Secret, name: str) -> str:
    """Return the credential without surrounding whitespace, or raise ``ConfigurationError``.

    ``name`` (an argument or environment variable) is the only thing the message repeats; the
    value never appears in it.
    """
    raw = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(raw, str):
        raise ConfigurationError(f"{name} must be a str or a Secret, not {type(raw).__name__}")
    cleaned = raw.strip()
    if not cleaned:
        raise ConfigurationError(f"{name} is empty; copy it again from the Authmatech dashboard")
    if len(cleaned) > _MAX_CREDENTIAL_LENGTH:
        raise ConfigurationError(
            f"{name} is {len(cleaned)} characters long, more than any Authmatech credential; "
            "check that the right value was copied"
        )
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'`":
        raise ConfigurationError(
            f"{name} is wrapped in quotes; remove them (the value must contain only the key)"
        )
    if cleaned[0] in "\"'`" or cleaned[-1] in "\"'`":
        raise ConfigurationError(
            f"{name} starts or ends with a quote character; remove it (the value must contain "
            "only the key)"
        )
    for char in cleaned:
        if not char.isascii() and not char.isspace() and char.isprintable():
            raise ConfigurationError(
                f"{name} contains a non-ASCII character; Authmatech credentials are plain "
                "ASCII (it travels in an HTTP header): copy it again from the dashboard"
            )
        if char.isspace():
            raise ConfigurationError(
                f"{name} contains whitespace or a line break inside it; a copy-paste error is "
                "the usual cause of persistent 401s: copy it again from the dashboard"
            )
        if not char.isprintable():
            raise ConfigurationError(
                f"{name} contains a control or non-printable character; copy it again from the "
                "dashboard"
            )
    return cleaned


def _to_secret(value: str | Secret | None, name: str) -> Secret | None:
    if value is None or type(value) is _IssuedKey:
        return value
    cleaned = clean_credential(value, name)
    if isinstance(value, Secret) and value.reveal() == cleaned:
        return value
    return Secret(cleaned)


def _api_key(value: str | Secret | None) -> Secret | None:
    return _to_secret(value, "api_key")


def _sdk_token(value: str | Secret | None) -> Secret | None:
    return _to_secret(value, "sdk_token")


def _client_secret(value: str | Secret | None) -> Secret | None:
    return _to_secret(value, "client_secret")


def _client_id(value: str | None) -> str | None:
    return None if value is None else clean_credential(value, "client_id")


@tolerant_repr
@attrs.frozen(slots=True, init=False)
class Credentials:
    """What a client may authenticate with; which one travels is decided per operation.

    Arguments may be ``str`` or :class:`Secret`; they are cleaned (surrounding whitespace and
    line breaks removed) and checked (quotes, inner whitespace, control characters refused).
    """

    client_id: str | None = attrs.field(default=None, converter=_client_id)
    api_key: Secret | None = attrs.field(default=None, converter=_api_key, kw_only=True)
    sdk_token: Secret | None = attrs.field(default=None, converter=_sdk_token, kw_only=True)
    client_secret: Secret | None = attrs.field(default=None, converter=_client_secret, kw_only=True)

    def __init__(
        self,
        client_id: str | None = None,
        *,
        api_key: str | Secret | None = None,
        sdk_token: str | Secret | None = None,
        client_secret: str | Secret | None = None,
    ) -> None:
        try:
            self.__attrs_init__(  # pyright: ignore[reportAttributeAccessIssue]
                client_id, api_key=api_key, sdk_token=sdk_token, client_secret=client_secret
            )
        except ConfigurationError as error:  # raised from a frame that holds no raw value
            del client_id, api_key, sdk_token, client_secret
            raise without_frames(error) from error.__cause__

    @classmethod
    @frameless_configuration_errors
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``AUTHMATECH_CLIENT_ID``, ``_API_KEY``, ``_CLIENT_SECRET`` and ``_SDK_TOKEN``.

        Unset or empty variables are ``None``. Errors name the variable, never its value.
        """
        env = os.environ if environ is None else environ
        if not isinstance(env, Mapping):
            raise ConfigurationError(
                f"from_env takes a mapping of variable names to values (or None for os.environ), "
                f"not {type(env).__name__}"
            )
        values = {
            field: _env_value(env, variable)
            for field, variable in (
                ("client_id", ENV_CLIENT_ID),
                ("api_key", ENV_API_KEY),
                ("sdk_token", ENV_SDK_TOKEN),
                ("client_secret", ENV_CLIENT_SECRET),
            )
        }
        return cls(
            values["client_id"],
            api_key=values["api_key"],
            sdk_token=values["sdk_token"],
            client_secret=values["client_secret"],
        )

    def held(self) -> tuple[str, ...]:
        """Names of the credentials present, for error messages."""
        names = (
            ("client ID", self.client_id),
            ("API key", self.api_key),
            ("SDK token", self.sdk_token),
            ("client secret", self.client_secret),
        )
        return tuple(name for name, value in names if value is not None)


def _env_value(env: Mapping[str, str], variable: str) -> str | None:
    value = env.get(variable)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_credential(value, variable)
