"""`dicom-mcp reidentify --principal NAME TOKEN...`: staff turn one caller's tokens back into originals.

Nothing over MCP re-identifies; this command does, on premises, for whoever can read the key
file, the audit log and the Redis the service keeps its token map in. It prints one line per
token, `TOKEN<TAB>kind<TAB>original` or `TOKEN<TAB>unknown`, after writing one audit record
that names the principal, the operator and every original disclosed. An original is disclosed
only if the operator's key still makes this very token of it for this principal, so an entry
planted in Redis, or left by another key, is answered as unknown.

Exit status: 0 every token was resolved, 1 some were unknown, 2 the command could not run
(settings, key file, store, audit log), with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import ValidationError

from dicom_mcp.errors import ConfigurationError, StoreError
from dicom_mcp.privacy.keys import PseudonymKeys, load_keys
from dicom_mcp.privacy.pseudonyms import Pseudonymiser, kind_of
from dicom_mcp.security.audit import AuditSink
from dicom_mcp.settings import Settings
from dicom_mcp.state.pseudonyms.redis import RedisTokenMap
from dicom_mcp.state.pseudonyms.store import Original
from dicom_mcp.state.redis_link import is_redis

PROG = "dicom-mcp reidentify"
ALL_KNOWN, SOME_UNKNOWN, CANNOT_RUN = 0, 1, 2


@dataclass(frozen=True)
class Answer:
    """What one token stands for, and how that was decided."""

    token: str
    kind: str | None  # None: not the shape of any token
    original: Original | None
    outcome: Literal["found", "unknown", "mismatch"]  # mismatch: the key does not make this token


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print what a pseudonymised caller's tokens stand for, and audit that you asked.",
    )
    parser.add_argument(
        "--principal",
        required=True,
        help="the caller the tokens were issued to: its API key name, OAuth subject, or 'anonymous'",
    )
    parser.add_argument("tokens", nargs="+", metavar="TOKEN", help="2.25.… UIDs, P-…, A-… or S-… tokens")
    return parser.parse_args(argv)


def command(argv: Sequence[str]) -> int:
    """Build settings from the environment, then run `main`; unusable settings exit with 2."""
    environment_only: dict[str, Any] = {}  # without pydantic's mypy plugin, Settings() looks incomplete
    try:
        settings = Settings(**environment_only)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        return _cannot_run(f"invalid settings: {problems}")
    return main(argv, settings)


def main(argv: Sequence[str], settings: Settings) -> int:
    """Resolve the tokens in `argv` for its principal, audit, print; return the exit status."""
    args = parse_args(argv)
    try:
        keys = _keys(settings)
        audit = _audit_sink(settings)
    except ConfigurationError as exc:
        return _cannot_run(str(exc))
    try:
        answers = anyio.run(
            _look_up, settings, keys.for_principal(args.principal), args.principal, args.tokens
        )
        _record(audit, args.principal, answers)
    except StoreError as exc:
        return _cannot_run(f"the token map cannot be read: {exc}")
    except OSError as exc:
        return _cannot_run(f"the audit record cannot be written ({exc.strerror}), so nothing is shown")
    finally:
        audit.close()
    for answer in answers:
        print(_line(answer))
    return ALL_KNOWN if all(a.outcome == "found" for a in answers) else SOME_UNKNOWN


def _keys(settings: Settings) -> PseudonymKeys:
    if settings.pseudonym_key_file is None:
        raise ConfigurationError(
            "DICOM_MCP_PSEUDONYM_KEY_FILE is not set: re-identification needs the key the service "
            "makes its tokens with"
        )
    if not is_redis(settings.session_store):
        raise ConfigurationError(
            "the token map lives in the running service's memory (DICOM_MCP_SESSION_STORE="
            f"{settings.session_store}), out of this command's reach: re-identification needs the "
            "service and this command to share DICOM_MCP_SESSION_STORE=redis://..."
        )
    return load_keys(settings.pseudonym_key_file)


def _audit_sink(settings: Settings) -> AuditSink:
    if not settings.audit_log:
        raise ConfigurationError(
            "DICOM_MCP_AUDIT_LOG is not set: re-identification is always audited; point it at the "
            "service's audit log"
        )
    try:
        # Standard output carries the answers: an audit log of "-" goes to stderr instead.
        return AuditSink(settings.audit_log, dash_stream=sys.stderr)
    except OSError as exc:
        raise ConfigurationError(f"DICOM_MCP_AUDIT_LOG cannot be opened ({exc.strerror})") from None


async def _look_up(
    settings: Settings, pseudonymiser: Pseudonymiser, principal: str, tokens: Sequence[str]
) -> list[Answer]:
    token_map = RedisTokenMap(settings.session_store, ttl=settings.pseudonym_ttl)
    try:
        answers = []
        for token in tokens:
            kind = kind_of(token)
            original = None if kind is None else await token_map.recall(principal, kind, token)
            if kind is None or original is None:
                answers.append(Answer(token, kind, None, "unknown"))
            elif pseudonymiser.token(kind, original.value) != token:
                answers.append(Answer(token, kind, None, "mismatch"))
            else:
                answers.append(Answer(token, kind, original, "found"))
        return answers
    finally:
        await token_map.aclose()


def _record(audit: AuditSink, principal: str, answers: Sequence[Answer]) -> None:
    tokens = [
        {
            "token": a.token,
            "kind": a.kind,
            "outcome": a.outcome,
            "original": a.original.value if a.original else None,
        }
        for a in answers
    ]
    audit.record("reidentify", principal=principal, operator=_operator(), tokens=tokens)


def _operator() -> str:
    """Who ran the command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def _line(answer: Answer) -> str:
    if answer.original is None or answer.kind is None:
        return f"{answer.token}\tunknown"
    return f"{answer.token}\t{answer.kind}\t{_one_field(answer.original.value)}"


def _one_field(text: str) -> str:
    """Keep one answer on one line: a control character in a PACS value is shown escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _cannot_run(reason: str) -> int:
    print(f"{PROG}: {reason}", file=sys.stderr)
    return CANNOT_RUN
