"""``python -m authmatech`` (and the ``authmatech`` script).

Commands: ``demo``; ``verify`` and ``rotate-key`` against the real API, or the in-process
sandbox with ``--sandbox``; ``sandbox serve`` for curl and other languages.

Exit codes (``EXIT_CODES``, also in ``--help`` and docs/cli.md): 0 success (for ``verify``:
the number is valid), 1 ``verify`` answered ``validNumber: false``, 2 bad input or
configuration, 3 the API refused or could not be reached, 130 interrupted. User errors print
one clear line, never a traceback or a secret; with ``--json`` they are also a JSON object on
standard output.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from ._version import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    AuthmatechError,
    ConfigurationError,
    KeyResponseError,
    RequestValidationError,
    ResponseValidationError,
)

if TYPE_CHECKING:
    from ._client import Client
    from .sandbox import Sandbox, SandboxAccount

__all__ = ["main"]

EXIT_OK, EXIT_INVALID_NUMBER, EXIT_USAGE, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = (
    (EXIT_OK, "success (verify: the number is valid)"),
    (EXIT_INVALID_NUMBER, "verify answered validNumber: false"),
    (EXIT_USAGE, "bad input or configuration; nothing was sent"),
    (EXIT_API, "the API refused the request or could not be reached"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
)


def _epilog(first: str) -> str:
    codes = "\n".join(f"  {code:<3} {meaning}" for code, meaning in EXIT_CODES)
    return f"{first}\n\nexit codes:\n{codes}"


def _service_type(value: str) -> str:
    """``--service-type``, checked here as the library checks ``service_type``."""
    from .core._validate import check_service_type

    try:
        return str(check_service_type(value))
    except RequestValidationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authmatech",
        description="Authmatech silent mobile-number verification from the command line.",
        epilog=_epilog(
            "Credentials come from AUTHMATECH_CLIENT_ID, AUTHMATECH_API_KEY, "
            "AUTHMATECH_CLIENT_SECRET and AUTHMATECH_BASE_URL."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"authmatech {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "demo",
        help="run the documented flow against an in-process sandbox (offline)",
        description="Run the whole documented flow against an in-process sandbox: offline, "
        "a second or so, fingerprints only.",
    )

    verify = commands.add_parser(
        "verify",
        help="verify a mobile number with a device proof",
        description="Verify that a customer controls MOBILE_NUMBER, with the proof "
        "(encryptedMobileNumber / authmatechCode) the device SDK obtained.",
        epilog=_epilog("Exit code 1 means the API answered validNumber: false."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("mobile_number", metavar="MOBILE_NUMBER", help="E.164, e.g. +962791234567")
    verify.add_argument(
        "--proof",
        help="the device SDK's encryptedMobileNumber (authmatechCode); with --sandbox it is "
        "issued for MOBILE_NUMBER when omitted",
    )
    verify.add_argument("--operator-id", help="the operator id (the SDK's MNOID), e.g. ZAIN_JO")
    verify.add_argument(
        "--service-type",
        type=_service_type,
        help="REGISTRATION, LOGIN, RESET_PASS, UPDATE_DETAILS or TRANSACTION (or another "
        "UPPER_SNAKE_CASE value Authmatech adds)",
    )
    verify.add_argument(
        "--mask-mobile", action="store_true", help="also return the masked confirmed number"
    )
    verify.add_argument(
        "--sandbox", action="store_true", help="use an in-process sandbox instead of the API"
    )
    verify.add_argument(
        "--json", action="store_true", help="print the verdict as one JSON object (number masked)"
    )

    rotate = commands.add_parser(
        "rotate-key",
        help="rotate the API key with the client secret",
        description="Rotate the API key (POST /v1/api/me/api-key/rotate). The client secret "
        "comes from AUTHMATECH_CLIENT_SECRET or a hidden prompt. The new key is printed once, "
        "or written to --key-file.",
        epilog=_epilog("The old key stops working at once: update every system that uses it."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rotate.add_argument(
        "--by-client",
        action="store_true",
        help="use POST /v1/api/clients/rotate-key instead of /me/api-key/rotate",
    )
    rotate.add_argument(
        "--sandbox", action="store_true", help="use an in-process sandbox instead of the API"
    )
    rotate.add_argument(
        "--key-file",
        metavar="PATH",
        help="write the new key to PATH (a new file, readable by you only) instead of printing it",
    )
    rotate.add_argument(
        "--json",
        action="store_true",
        help="print the old and new key fingerprints as one JSON object (needs --key-file: the "
        "JSON never holds the key)",
    )

    sandbox = commands.add_parser(
        "sandbox", help="the local emulator of the API", description="The local emulator."
    )
    sandbox_commands = sandbox.add_subparsers(
        dest="sandbox_command", metavar="COMMAND", required=True
    )
    serve = sandbox_commands.add_parser(
        "serve",
        help="serve the sandbox over HTTP on loopback",
        description="Serve a fresh sandbox over HTTP/1.1 on a loopback address and print "
        "credentials and ready-to-paste curl commands. Ctrl-C stops it.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); a non-loopback one needs "
        "--allow-non-loopback",
    )
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    serve.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a --host other machines can reach (e.g. 0.0.0.0 in a container): the "
        "sandbox has no TLS and anyone who reaches it can use its credentials",
    )
    serve.add_argument(
        "--rate-limit",
        type=int,
        default=1000,
        metavar="N",
        help="requests the account may make per window before 429s (default 1000)",
    )
    serve.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="S",
        help="the rate limit's sliding window in seconds (default 60)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    stdout = out or sys.stdout
    args = _parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        if args.command == "demo":
            from ._demo import run_demo

            return run_demo(stdout)
        if args.command == "verify":
            return _verify(args, stdout)
        if args.command == "rotate-key":
            return _rotate(args, stdout)
        return _serve(args, stdout)
    except (ConfigurationError, RequestValidationError) as error:
        print(f"authmatech: error: {error}", file=sys.stderr)
        return _json_error(stdout, error, EXIT_USAGE) if as_json else EXIT_USAGE
    except (APIStatusError, APIConnectionError, ResponseValidationError) as error:
        print(f"authmatech: {type(error).__name__}: {error}", file=sys.stderr)
        return _json_error(stdout, error, EXIT_API) if as_json else EXIT_API
    except AuthmatechError as error:  # pragma: no cover - every subclass is handled above
        print(f"authmatech: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_API
    except KeyboardInterrupt:
        print("authmatech: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _json_error(out: TextIO, error: AuthmatechError, code: int) -> int:
    """The error as one JSON object on standard output, for scripts that read ``--json``."""
    payload: dict[str, object] = {
        "ok": False,
        "exitCode": code,
        "error": {"type": type(error).__name__, "message": str(error)},
    }
    if isinstance(error, APIStatusError):
        payload["error"] = {**payload["error"], "status": error.status_code}  # type: ignore[dict-item]
    out.write(json.dumps(payload) + "\n")
    return code


def _sandbox_client(rotating: bool = False) -> tuple[Sandbox, Client]:
    from ._client import Client
    from .sandbox import Sandbox

    sandbox = Sandbox()
    account = sandbox.create_account()
    client = Client(
        client_id=account.client_id,
        api_key=account.api_key,
        client_secret=account.client_secret if rotating else None,
        base_url="https://sandbox.authmatech.local",
        http_client=sandbox.http_client(),
    )
    return sandbox, client


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from ._client import Client
    from .core import check_e164, mask_phone

    proof = args.proof
    if args.sandbox:
        sandbox, client = _sandbox_client()
        if proof is None:
            proof = sandbox.device_proof(check_e164(args.mobile_number)).encrypted_mobile_number
    else:
        if proof is None:
            raise ConfigurationError(
                "--proof is required: pass the encryptedMobileNumber (authmatechCode) the "
                "device SDK obtained (or use --sandbox to try it out)"
            )
        client = Client()
    with client:
        result = client.verify(
            args.mobile_number,
            proof,
            operator_id=args.operator_id,
            service_type=args.service_type,
            mask_mobile=args.mask_mobile,
        )
    code = EXIT_OK if result.valid_number else EXIT_INVALID_NUMBER
    if args.json:
        verdict = {
            "ok": True,
            "exitCode": code,
            "mobileNumber": mask_phone(args.mobile_number),
            "validNumber": result.valid_number,
            "maskedMobileNumber": result.masked_mobile_number,
        }
        out.write(json.dumps(verdict) + "\n")
        return code
    out.write(f"number:      {mask_phone(args.mobile_number)}\n")
    out.write(f"validNumber: {str(result.valid_number).lower()}\n")
    if result.masked_mobile_number is not None:
        out.write(f"masked:      {result.masked_mobile_number}\n")
    return code


def _client_secret_from_prompt() -> str | None:
    if os.environ.get("AUTHMATECH_CLIENT_SECRET", "").strip():
        return None
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "the client secret is needed: set AUTHMATECH_CLIENT_SECRET or run in a terminal to "
            "be prompted for it"
        )
    return getpass.getpass("Client secret (input hidden): ")


def _rotate(args: argparse.Namespace, out: TextIO) -> int:
    from ._client import Client

    if args.json and args.key_file is None:
        raise ConfigurationError(
            "--json needs --key-file PATH: the JSON output never contains the new key, so it "
            "must be written somewhere"
        )
    if args.sandbox:
        _, client = _sandbox_client(rotating=True)
    else:
        client = Client(client_secret=_client_secret_from_prompt())
    with client:
        key_path: str | None = args.key_file
        key_file = None if key_path is None else _new_key_file(key_path)
        old = client.api_key_fingerprint
        account = client.account
        try:
            rotated = account.rotate_client_key() if args.by_client else account.rotate_api_key()
        except BaseException as error:
            if key_file is not None and key_path is not None:  # leave no empty key file
                key_file.close()
                os.unlink(key_path)
            if isinstance(error, KeyResponseError):
                _show_unusable_answer(error, client, out)
                return EXIT_API
            raise
    new = rotated.api_key.fingerprint
    if key_file is not None:
        with key_file:
            key_file.write(rotated.api_key.reveal() + "\n")
    if args.json:
        report = {
            "ok": True,
            "exitCode": EXIT_OK,
            "endpoint": _ROTATE_PATHS[bool(args.by_client)],
            "oldFingerprint": old,
            "newFingerprint": new,
            "keyFile": key_path,
        }
        out.write(json.dumps(report) + "\n")
        return EXIT_OK
    out.write(f"Rotated: {old} -> {new}\n")
    if key_file is not None:
        out.write(f"New API key written to {key_path} (readable by you only).\n")
        out.write(_UPDATE_EVERYWHERE)
        return EXIT_OK
    out.write("New API key (shown once; store it in your secret manager now):\n")
    out.write(f"{rotated.api_key.reveal()}\n")
    out.write(_UPDATE_EVERYWHERE)
    return EXIT_OK


def _show_unusable_answer(error: KeyResponseError, client: Client, out: TextIO) -> None:
    """The rotation answered 2xx but its answer could not be used: print it whole (the new key
    may be in it, and the old one may be dead), with the old key and the client secret
    replaced by their fingerprints should the server have echoed them."""
    raw = "" if error.raw_body is None else error.raw_body.reveal()
    held = client._keys.static()
    for secret in (held.api_key, held.client_secret):
        if secret is not None:
            raw = raw.replace(secret.reveal(), secret.fingerprint)
    out.write(f"The rotation may have happened, but its answer could not be used: {error}\n")
    out.write("The server's whole answer (shown once; store it in your secret manager now):\n")
    out.write(f"{raw}\n")
    if error.api_key is not None:
        out.write("The new key found in it (it cannot travel in an HTTP header as it is):\n")
        out.write(f"{error.api_key.reveal()!r}\n")


_ROTATE_PATHS = {False: "/v1/api/me/api-key/rotate", True: "/v1/api/clients/rotate-key"}
_UPDATE_EVERYWHERE = (
    "The old key no longer works: update every system that uses it "
    "(AUTHMATECH_API_KEY in each deployment, CI secrets, workers).\n"
)


def _new_key_file(path: str) -> TextIO:
    """``path`` opened for writing, created now with owner-only permissions (never an existing
    file: a key must not overwrite something else, or land in a file others can read)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(
            f"--key-file {path} already exists; pass a new path (the key is never written over "
            "a file)"
        ) from None
    except OSError as error:
        raise ConfigurationError(f"cannot create --key-file {path}: {error.strerror}") from None
    return os.fdopen(descriptor, "w", encoding="utf-8")


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    import anyio

    from .sandbox import Sandbox
    from .sandbox._server import bound_port, check_host, open_listener, serve_on

    try:
        check_host(args.host, args.allow_non_loopback, how="pass --allow-non-loopback")
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    if not 0 <= args.port <= 65535:
        raise ConfigurationError("--port must be from 0 to 65535")
    if args.rate_limit < 1:
        raise ConfigurationError("--rate-limit must be at least 1 request")
    if not 0 < args.rate_window <= 86_400:
        raise ConfigurationError("--rate-window must be more than 0 and at most 86400 seconds")
    sandbox = Sandbox()
    account = sandbox.create_account(
        rate_limit_per_minute=args.rate_limit, rate_window=args.rate_window
    )
    proof = sandbox.device_proof("+962791234567")

    async def run() -> None:
        # Bound outside any task group, so a busy port is one OSError, not an ExceptionGroup.
        try:
            listener = await open_listener(
                args.host, args.port, allow_non_loopback=args.allow_non_loopback
            )
        except OSError as error:
            raise ConfigurationError(
                f"cannot listen on {args.host}:{args.port} "
                f"({error.strerror or error}); pick another --port"
            ) from None
        async with listener:
            port = bound_port(listener)
            host = f"[{args.host}]" if ":" in args.host else args.host
            if args.allow_non_loopback:
                print(
                    f"authmatech: warning: the sandbox is reachable from the network on "
                    f"{args.host}:{port}, without TLS; anyone who reaches it can use the "
                    "credentials below. Stop it when you are done.",
                    file=sys.stderr,
                )
            out.write(
                _serve_banner(f"http://{host}:{port}", account, proof.encrypted_mobile_number)
            )
            out.flush()
            await serve_on(sandbox, listener)

    try:
        anyio.run(run)
    except KeyboardInterrupt:
        out.write("\nsandbox stopped\n")
    return EXIT_OK


def _serve_banner(url: str, account: SandboxAccount, proof: str) -> str:
    key = account.api_key.reveal()
    return (
        f"Authmatech sandbox listening on {url} (Ctrl-C to stop)\n\n"
        "Throwaway sandbox credentials:\n"
        f"  export AUTHMATECH_BASE_URL={url}\n"
        f"  export AUTHMATECH_CLIENT_ID={account.client_id}\n"
        f"  export AUTHMATECH_API_KEY={key}\n"
        f"  export AUTHMATECH_CLIENT_SECRET={account.client_secret.reveal()}\n"
        f"  export AUTHMATECH_SDK_TOKEN={account.sdk_token.reveal()}\n\n"
        "Verify a number (the documented request):\n"
        f"  curl -X POST {url}/v1/api/verify \\\n"
        f'    -H "X-API-KEY: {key}" \\\n'
        f'    -H "X-CLIENT-ID: {account.client_id}" \\\n'
        '    -H "Content-Type: application/json" \\\n'
        '    -d \'{"mobileNumber": "+962791234567", '
        f'"encryptedMobileNumber": "{proof}", '
        '"operatorId": "ZAIN_JO", "serviceType": "LOGIN"}\'\n\n'
        "Products enabled for the account:\n"
        f'  curl {url}/v1/api/me/products -H "X-API-KEY: {key}" '
        f'-H "X-CLIENT-ID: {account.client_id}"\n\n'
        "Mint a device proof for any number (sandbox-only; then verify with it as above):\n"
        f"  curl -X POST {url}/sandbox/device-proofs \\\n"
        f'    -H "X-API-KEY: {key}" -H "X-CLIENT-ID: {account.client_id}" \\\n'
        '    -H "Content-Type: application/json" \\\n'
        '    -d \'{"mobileNumber": "+962781234567", "operatorId": "ORANGE_JO"}\'\n\n'
        "Mint a web transaction id for verify_web (sandbox-only):\n"
        f"  curl -X POST {url}/sandbox/web-transactions \\\n"
        f'    -H "X-API-KEY: {key}" -H "X-CLIENT-ID: {account.client_id}" \\\n'
        '    -H "Content-Type: application/json" \\\n'
        '    -d \'{"mobileNumber": "+962781234567"}\'\n'
    )
