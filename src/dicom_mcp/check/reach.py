"""Below any protocol: does the name resolve, does the port take a TCP connection, does TLS shake hands.

Plain sockets, each step within `timeout` seconds. Name resolution, which the socket library
cannot bound, runs in a thread of its own, left behind if it takes longer. With TLS, the
handshake uses the very context the service's requests use, and the certificate's end is read.
Blocking: run `reach` in a worker thread.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from dicom_mcp.check.cells import Cell, millis, no_answer, skipped
from dicom_mcp.errors import ConfigurationError

EXPIRY_WARNING_DAYS: Final = 30
TlsArguments = Callable[[], "tuple[ssl.SSLContext, str] | None"]


@dataclass(frozen=True)
class Reached:
    """The cells of the three steps, and the address connected to (None: no connection)."""

    cells: dict[str, Cell]
    address: str | None

    @property
    def failed(self) -> str | None:
        """The first step that failed, if one did."""
        return next((name for name, cell in self.cells.items() if cell.status == "failed"), None)


def reach(host: str, port: int, tls: TlsArguments, timeout: float) -> Reached:
    """Resolve `host`, connect to `port`, and shake hands with `tls()`'s context (None: no TLS)."""
    try:
        addresses = _resolve(host, port, timeout)
    except TimeoutError:  # before OSError, of which it is one
        words = f"no answer within {timeout:g} s from the name service for {host}"
        return _stopped({"resolve": Cell("failed", no_answer(timeout), words)}, "resolve")
    except OSError as exc:
        words = f"{host} does not resolve ({exc.strerror or type(exc).__name__})"
        return _stopped({"resolve": Cell("failed", "unknown name", words)}, "resolve")
    if _is_address(host):
        cells = {"resolve": Cell("info", addresses[0], "an address: nothing to resolve", addresses)}
    else:
        cells = {"resolve": Cell("ok", addresses[0], f"{host} is {', '.join(addresses)}", addresses)}
    started = time.perf_counter()
    try:
        connection, address = _connect(addresses, port, timeout)
    except OSError as exc:
        cells["connect"] = _not_connected(exc, f"{host}:{port}", timeout)
        return _stopped(cells, "connect")
    took = (time.perf_counter() - started) * 1000
    words = f"TCP connection to {address}:{port} in {millis(took)}"
    cells["connect"] = Cell("ok", millis(took), words, round(took, 2))
    with connection:
        cells["tls"] = _handshake(connection, tls, timeout)
    return Reached(cells, None if cells["tls"].status == "failed" else address)


def _not_connected(exc: OSError, where: str, timeout: float) -> Cell:
    if isinstance(exc, TimeoutError):
        words = f"no answer within {timeout:g} s to a TCP connection to {where} (a host that is down, or a firewall dropping packets)"
        return Cell("failed", no_answer(timeout), words)
    if isinstance(exc, ConnectionRefusedError):
        return Cell("failed", "refused", f"connection refused: nothing listens on {where}")
    return Cell(
        "failed", "unreachable", f"no TCP connection to {where} ({exc.strerror or type(exc).__name__})"
    )


def _resolve(host: str, port: int, timeout: float) -> list[str]:
    """The addresses of `host`, in the resolver's order.

    Raises:
        OSError: it does not resolve.
        TimeoutError: the resolver did not answer within `timeout`.
    """
    answers: queue.Queue[list[str] | OSError] = queue.Queue(maxsize=1)

    def look_up() -> None:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            answers.put(list(dict.fromkeys(str(info[4][0]) for info in found)))
        except OSError as exc:
            answers.put(exc)

    threading.Thread(target=look_up, name="dicom-mcp check: resolve", daemon=True).start()
    try:
        answer = answers.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError from None
    if isinstance(answer, OSError):
        raise answer
    return answer


def _connect(addresses: list[str], port: int, timeout: float) -> tuple[socket.socket, str]:
    """A TCP connection to the first of `addresses` that takes one (the last one's error if none)."""
    error: OSError = OSError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout), address
        except OSError as exc:
            error = exc
    raise error


def _handshake(connection: socket.socket, tls: TlsArguments, timeout: float) -> Cell:
    try:
        arguments = tls()
    except ConfigurationError as exc:  # a CA, certificate or key file that cannot be used
        return Cell("failed", "unusable files", str(exc))
    if arguments is None:
        return Cell("info", "-", "no TLS")
    context, server_name = arguments
    connection.settimeout(timeout)
    started = time.perf_counter()
    try:
        with context.wrap_socket(connection, server_hostname=server_name) as secured:
            version, certificate = secured.version() or "TLS", secured.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return Cell("failed", "not trusted", f"the certificate is not accepted: {exc.verify_message}")
    except ssl.SSLError as exc:
        return Cell("failed", "failed", f"the TLS handshake failed ({exc.reason or type(exc).__name__})")
    except TimeoutError:
        return Cell("failed", no_answer(timeout), f"no answer within {timeout:g} s to the TLS handshake")
    except OSError as exc:
        return Cell(
            "failed",
            "closed",
            f"the connection ended during the TLS handshake ({exc.strerror or type(exc).__name__})",
        )
    return _certificate_cell(version, certificate, (time.perf_counter() - started) * 1000)


def _certificate_cell(version: str, certificate: Mapping[str, object] | None, took: float) -> Cell:
    """The handshake's version and the days until the certificate's notAfter."""
    not_after = (certificate or {}).get("notAfter")
    if not isinstance(not_after, str):
        return Cell("warning", version, f"{version} in {millis(took)}; the certificate's end is unknown")
    days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
    text = f"{version}, {days:.0f} d left"
    detail = f"{version} in {millis(took)}; the certificate expires in {days:.1f} days ({not_after})"
    value = {"version": version, "days_to_expiry": round(days, 2), "not_after": not_after}
    return Cell("warning" if days < EXPIRY_WARNING_DAYS else "ok", text, detail, value)


def _stopped(cells: dict[str, Cell], failed: str) -> Reached:
    for step in ("resolve", "connect", "tls"):
        cells.setdefault(step, skipped(f"not tried: {failed} failed"))
    return Reached(cells, None)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
