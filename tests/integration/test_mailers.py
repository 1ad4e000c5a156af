"""The mailers against real things: files parsed back, a terminal stream, and a real SMTP server
(aiosmtpd, in its own thread) that accepts, refuses, authenticates and speaks STARTTLS."""

from __future__ import annotations

import asyncio
import email.policy
import ipaddress
import logging
import secrets
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.mail.console import ConsoleMailer
from adapters.mail.file import FileMailer
from adapters.mail.message import build_email
from adapters.mail.smtp import SmtpMailer
from application.ports.mail import MailDeliveryFailed, MailMessage

SENDER = "Portcullis <no-reply@portcullis.test>"
SENDER_ADDRESS = "no-reply@portcullis.test"
RECIPIENT = "zoe@example.com"
SUBJECT = "Réinitialisez votre mot de passe — Portcullis ✓"
SMTP_USER = "portcullis"
SMTP_PASSWORD = "s3cret-smtp-pässword"
ACCEPTED = "250 OK"

# aiosmtpd warns on each connection to the AUTH server below: no TLS there, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
TRY_AGAIN_LATER = "451 4.3.0 try again later"


def a_message(to: str = RECIPIENT, subject: str = SUBJECT) -> MailMessage:
    # Longer than 78 characters, with an "=": quoted-printable would break it.
    link = f"http://127.0.0.1:8000/reset-password?token={secrets.token_urlsafe(32)}"
    return MailMessage(
        to=to,
        subject=subject,
        text=f"Bonjour Zoë,\n\nPour choisir un nouveau mot de passe, ouvrez :\n{link}\n",
        html=f'<p>Bonjour Zoë,</p>\n<p><a href="{link}">Choisir un nouveau mot de passe</a></p>\n',
    )


def link_of(message: MailMessage) -> str:
    return message.text.split()[-1]


def parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body_of(parsed: EmailMessage, subtype: str) -> str:
    part = parsed.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    # The parser keeps the wire's CRLF inside a body.
    return content.replace("\r\n", "\n")


def assert_is_the_message(parsed: EmailMessage, message: MailMessage) -> None:
    assert parsed["From"] == SENDER
    assert parsed["To"] == message.to
    assert parsed["Subject"] == message.subject
    assert parsed["Date"].datetime.utcoffset() == timedelta(0)
    assert abs(parsed["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=1)
    assert parsed["Message-ID"].startswith("<")
    assert parsed["Message-ID"].endswith("@portcullis.test>")
    assert parsed.get_content_type() == "multipart/alternative"
    assert body_of(parsed, "plain") == message.text
    assert body_of(parsed, "html") == message.html
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8"


def files_in(directory: Path) -> list[Path]:
    """Every file in the directory, temporary ones too, in name order."""
    return sorted(directory.iterdir())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the message itself -------------------------------------------------------------------


def test_the_email_has_its_headers_a_text_part_and_an_html_alternative() -> None:
    message = a_message()

    built = build_email(message, SENDER)

    assert_is_the_message(parse(built.as_bytes(policy=email.policy.SMTP)), message)
    assert built["Date"].endswith("+0000")  # UTC, whatever the server's time zone


def test_each_email_has_its_own_message_id() -> None:
    ids = {build_email(a_message(), SENDER)["Message-ID"] for _ in range(3)}

    assert len(ids) == 3


def test_a_long_link_is_written_whole_not_quoted_printable() -> None:
    message = a_message()

    raw = build_email(message, SENDER).as_bytes(policy=email.policy.SMTP)

    assert link_of(message).encode() in raw
    assert b"quoted-printable" not in raw


@pytest.mark.parametrize("header", ["to", "subject"])
@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x85"])
def test_a_line_break_in_a_header_is_refused(header: str, line_break: str) -> None:
    injected = f"{RECIPIENT}{line_break}Bcc: everyone@example.net"
    message = a_message(to=injected) if header == "to" else a_message(subject=f"Hi{injected}")

    with pytest.raises(ValueError, match="line breaks"):
        build_email(message, SENDER)


@pytest.mark.parametrize("header", ["To", "Subject"])
def test_the_email_policy_itself_refuses_cr_and_lf_in_a_header(header: str) -> None:
    # The second guard: even past build_email's own check, the standard library refuses.
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        EmailMessage(policy=email.policy.default)[header] = "a@b.example\r\nBcc: c@d.example"


@pytest.mark.parametrize(
    "to", ["zoe@example.com, eve@example.net", "not an address", "zoe@", "@example.com", ""]
)
def test_a_recipient_that_is_not_exactly_one_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError, match="To must be exactly one email address"):
        build_email(a_message(to=to), SENDER)


def test_a_sender_that_is_not_exactly_one_address_is_refused() -> None:
    with pytest.raises(ValueError, match="From must be exactly one email address"):
        build_email(a_message(), "no-reply@portcullis.test, eve@example.net")


@pytest.mark.parametrize(
    "make_mailer",
    [
        lambda sender: ConsoleMailer(StringIO(), sender=sender),
        lambda sender: FileMailer(Path("unused"), sender),
        lambda sender: SmtpMailer("127.0.0.1", 25, None, None, False, sender),
    ],
    ids=["console", "file", "smtp"],
)
def test_a_mailer_with_a_bad_sender_is_refused_when_built(
    make_mailer: Callable[[str], object],
) -> None:
    with pytest.raises(ValueError, match="From must be exactly one email address"):
        make_mailer("Portcullis <no-reply@>")


def test_a_unicode_domain_is_written_as_its_a_label() -> None:
    # domain/email.py keeps Unicode domains; without this the standard library would write
    # an encoded-word inside the address, which no server understands.
    built = build_email(a_message(to="anna@straße.example"), SENDER)

    assert built["To"] == "anna@xn--strae-oqa.example"


# --- the file mailer ----------------------------------------------------------------------


async def test_the_file_mailer_writes_an_eml_that_parses_back(tmp_path: Path) -> None:
    message = a_message()

    await FileMailer(tmp_path, SENDER).send(message)

    [eml] = files_in(tmp_path)
    assert eml.suffix == ".eml"
    raw = eml.read_bytes()
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line endings only, as RFC 5322 says
    assert_is_the_message(parse(raw), message)


async def test_two_messages_give_two_files_that_sort_in_sending_order(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path, SENDER)
    first, second = a_message(subject="first"), a_message(subject="second")

    await mailer.send(first)
    await mailer.send(second)

    files = files_in(tmp_path)
    assert [parse(f.read_bytes())["Subject"] for f in files] == ["first", "second"]
    assert all(f.suffix == ".eml" for f in files)  # no temporary file left behind


async def test_messages_sent_at_once_never_overwrite_each_other(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path, SENDER)

    await asyncio.gather(*(mailer.send(a_message(subject=f"n{i}")) for i in range(20)))

    subjects = {parse(f.read_bytes())["Subject"] for f in files_in(tmp_path)}
    assert subjects == {f"n{i}" for i in range(20)}


async def test_the_file_mailer_creates_its_directory(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "mail"

    await FileMailer(directory, SENDER).send(a_message())

    assert [f.suffix for f in files_in(directory)] == [".eml"]


async def test_an_unwritable_directory_is_a_delivery_failure(tmp_path: Path) -> None:
    # A file where the directory should be: unwritable even for root, unlike chmod.
    (tmp_path / "in-the-way").write_text("")
    message = a_message()

    with pytest.raises(MailDeliveryFailed) as failure:
        await FileMailer(tmp_path / "in-the-way" / "mail", SENDER).send(message)

    assert link_of(message) not in str(failure.value)


# --- the console mailer -------------------------------------------------------------------


async def test_the_console_mailer_prints_the_whole_message_with_a_clickable_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = StringIO()
    message = a_message()

    await ConsoleMailer(stream, sender=SENDER).send(message)

    printed = stream.getvalue()
    first_line, *lines, last_line = printed.splitlines(keepends=True)
    assert first_line.startswith("=====")
    assert first_line.strip("= \n") == f"mail to {RECIPIENT}"
    assert last_line.startswith("=====")
    assert last_line.strip("= \n") == "end of mail"
    assert link_of(message) in printed
    assert "Bonjour Zoë" in printed  # readable, not base64
    assert_is_the_message(parse("".join(lines).encode()), message)
    # Never through logging: log lines must not carry tokens.
    assert link_of(message) not in caplog.text


async def test_the_console_mailer_writes_to_stdout_as_it_is_when_sending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = a_message()

    await ConsoleMailer(sender=SENDER).send(message)

    assert link_of(message) in capsys.readouterr().out


# --- the SMTP mailer, against a real SMTP server --------------------------------------------


@dataclass
class RecordingHandler:
    """Answers DATA with `reply`; keeps every envelope it accepted, and counts every try."""

    reply: str = ACCEPTED
    tries: int = 0
    accepted: list[Envelope] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)

    # aiosmtpd calls each hook with the server, the session and the envelope.
    async def handle_DATA(self, _server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.reply == ACCEPTED:
            self.accepted.append(envelope)
            self.over_tls.append(session.ssl is not None)
        return self.reply


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int

    def mailer(self, **overrides: Any) -> SmtpMailer:
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": None,
            "password": None,
            "starttls": False,
            "sender": SENDER,
            "timeout": 5,
        }
        return SmtpMailer(**(settings | overrides))


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def start_smtp_server() -> Iterator[StartServer]:
    """Starts aiosmtpd on 127.0.0.1 and a free port, with the SMTP options given."""
    controllers: list[Controller] = []

    def start(**smtp_options: Any) -> SmtpServer:
        handler = RecordingHandler()
        port = free_port()
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, server_hostname="localhost", **smtp_options
        )
        controller.start()
        controllers.append(controller)
        return SmtpServer(handler, port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp_server: StartServer) -> SmtpServer:
    return start_smtp_server()


def check_password(  # aiosmtpd's authenticator signature: only the credentials matter here
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False: aiosmtpd then answers 235 or 535 itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_smtp_server(start_smtp_server: StartServer) -> SmtpServer:
    return start_smtp_server(
        authenticator=check_password, auth_required=True, auth_require_tls=False
    )


@dataclass(frozen=True)
class Certificate:
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A throwaway CA and a certificate it signed for 127.0.0.1; the client trusts the CA."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portcullis test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(
        cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
    )
    return Certificate(server_context, client_context)


@pytest.fixture
def tls_smtp_server(start_smtp_server: StartServer, certificate: Certificate) -> SmtpServer:
    return start_smtp_server(tls_context=certificate.server_context, require_starttls=True)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word (no SMTP greeting)."""
    hung: list[asyncio.StreamWriter] = []

    # asyncio hands every connection's reader and writer over; only the writer is kept.
    async def say_nothing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    server = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in hung:
        writer.close()
    server.close()
    await server.wait_closed()


def delivered(server: SmtpServer) -> list[EmailMessage]:
    return [parse(envelope.original_content or b"") for envelope in server.handler.accepted]


async def test_smtp_delivers_once_with_the_right_envelope_and_content(
    smtp_server: SmtpServer,
) -> None:
    message = a_message()

    await smtp_server.mailer().send(message)

    [envelope] = smtp_server.handler.accepted
    assert envelope.mail_from == SENDER_ADDRESS
    assert envelope.rcpt_tos == [RECIPIENT]
    [parsed] = delivered(smtp_server)
    assert_is_the_message(parsed, message)


async def test_smtp_sends_a_unicode_domain_as_its_a_label(smtp_server: SmtpServer) -> None:
    await smtp_server.mailer().send(a_message(to="anna@bücher.example"))

    [envelope] = smtp_server.handler.accepted
    assert envelope.rcpt_tos == ["anna@xn--bcher-kva.example"]


async def test_a_refusing_server_fails_the_send_and_a_later_try_arrives_once(
    smtp_server: SmtpServer,
) -> None:
    mailer, message = smtp_server.mailer(), a_message()
    smtp_server.handler.reply = TRY_AGAIN_LATER

    with pytest.raises(MailDeliveryFailed, match="451") as failure:
        await mailer.send(message)

    assert link_of(message) not in str(failure.value)
    assert "try again later" not in str(failure.value)  # the server's words stay out
    smtp_server.handler.reply = ACCEPTED
    await mailer.send(message)
    assert smtp_server.handler.tries == 2
    [parsed] = delivered(smtp_server)
    assert body_of(parsed, "plain") == message.text


async def test_an_address_where_nothing_listens_fails_quickly() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), None, None, False, SENDER, timeout=5)
    started = time.monotonic()

    with pytest.raises(MailDeliveryFailed, match="SMTPConnectError"):
        await mailer.send(a_message())

    assert time.monotonic() - started < 2


async def test_a_server_that_never_answers_fails_after_the_timeout(silent_port: int) -> None:
    mailer = SmtpMailer("127.0.0.1", silent_port, None, None, False, SENDER, timeout=0.5)
    started = time.monotonic()

    with pytest.raises(MailDeliveryFailed, match="Timeout"):
        await mailer.send(a_message())

    assert time.monotonic() - started < 3


async def test_a_wrong_smtp_password_fails_without_showing_it(
    auth_smtp_server: SmtpServer,
) -> None:
    wrong_password = "wrong-" + SMTP_PASSWORD
    mailer = auth_smtp_server.mailer(username=SMTP_USER, password=wrong_password)
    message = a_message()

    with pytest.raises(MailDeliveryFailed, match="SMTPAuthenticationError") as failure:
        await mailer.send(message)

    for shown in (str(failure.value), repr(failure.value), repr(mailer)):
        assert SMTP_PASSWORD not in shown
        assert link_of(message) not in shown
    assert failure.value.__cause__ is None
    assert failure.value.__suppress_context__
    assert auth_smtp_server.handler.accepted == []


async def test_the_right_smtp_password_delivers(auth_smtp_server: SmtpServer) -> None:
    mailer = auth_smtp_server.mailer(username=SMTP_USER, password=SMTP_PASSWORD)

    await mailer.send(a_message())

    assert len(delivered(auth_smtp_server)) == 1


async def test_without_a_login_a_server_that_requires_one_refuses(
    auth_smtp_server: SmtpServer,
) -> None:
    with pytest.raises(MailDeliveryFailed, match="530"):
        await auth_smtp_server.mailer().send(a_message())

    assert auth_smtp_server.handler.accepted == []


def test_a_username_without_a_password_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="password"):
        SmtpMailer("127.0.0.1", 25, SMTP_USER, None, False, SENDER)


async def test_starttls_delivers_over_tls(
    tls_smtp_server: SmtpServer, certificate: Certificate
) -> None:
    mailer = tls_smtp_server.mailer(starttls=True, tls_context=certificate.client_context)

    await mailer.send(a_message())

    assert tls_smtp_server.handler.over_tls == [True]


async def test_starttls_refuses_a_certificate_it_does_not_trust(
    tls_smtp_server: SmtpServer,
) -> None:
    with pytest.raises(MailDeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await tls_smtp_server.mailer(starttls=True).send(a_message())

    assert tls_smtp_server.handler.accepted == []


async def test_without_starttls_a_server_that_requires_it_refuses(
    tls_smtp_server: SmtpServer,
) -> None:
    with pytest.raises(MailDeliveryFailed, match="530"):
        await tls_smtp_server.mailer(starttls=False).send(a_message())

    assert tls_smtp_server.handler.accepted == []


async def test_starttls_asked_of_a_server_without_it_fails(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailDeliveryFailed, match="STARTTLS extension not supported"):
        await smtp_server.mailer(starttls=True).send(a_message())

    assert smtp_server.handler.accepted == []
