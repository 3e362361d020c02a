"""Each channel against a real counterpart: an SMTP server, a partner's HTTP endpoint, an SMS gateway."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from services.notify.channels import (
    Message,
    PermanentFailure,
    SmsChannel,
    SmsGatewayConfig,
    SmtpChannel,
    SmtpConfig,
    WebhookChannel,
)
from services.notify.messages import Templates
from tests.support.http_receiver import http_receiver
from tests.support.smtp import smtp_server, wait_for_mail

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _receipt(language: str) -> Message:
    r = Templates().render("reporter_receipt", language, {"reference": "ACD3479XYZ"})
    return Message("5f0c1d5e-8f4e-5a4e-9b59-1f2a3b4c5d6e", "email", "amina@example.org", r.subject, r.text,
                   r.html, r.language)


def test_email_is_multipart_text_and_html_with_a_message_id_from_the_idempotency_key() -> None:
    with smtp_server() as box:
        SmtpChannel(SmtpConfig(host=box.host, port=box.port)).send(_receipt("en"))
        [mail] = wait_for_mail(box, "amina@example.org")
    assert mail.message_id == "<5f0c1d5e-8f4e-5a4e-9b59-1f2a3b4c5d6e@vigil.notify>"
    assert mail.message["Subject"] == "Your report ACD3479XYZ has been received"
    assert "call 999" in mail.part("plain") and "ACD3479XYZ" in mail.part("plain")
    assert '<html lang="en" dir="ltr">' in mail.part("html")


def test_email_goes_over_starttls_with_login(tmp_path: Path) -> None:
    with smtp_server(tls_dir=tmp_path, credentials=("vigil", "s3cret")) as box:
        config = SmtpConfig(host=box.host, port=box.port, security="starttls", username="vigil", password="s3cret",
                            ca_file=box.ca_file)
        receipt = _receipt("ar")
        SmtpChannel(config).send(receipt)
        [mail] = wait_for_mail(box, "amina@example.org")
    assert mail.message["Content-Language"] == "ar"
    assert not receipt.subject.isascii() and mail.message["Subject"] == receipt.subject, "Arabic subject intact"
    assert '<html lang="ar" dir="rtl">' in mail.part("html")
    assert receipt.text.strip() in mail.part("plain")


def test_a_server_that_requires_starttls_refuses_plain_text(tmp_path: Path) -> None:
    with smtp_server(tls_dir=tmp_path, credentials=("vigil", "s3cret")) as box:
        with pytest.raises(smtplib.SMTPException):
            SmtpChannel(SmtpConfig(host=box.host, port=box.port, username="vigil", password="s3cret"))\
                .send(_receipt("en"))
        assert box.all() == []


def test_an_unreachable_smtp_server_is_a_transient_error() -> None:
    with smtp_server() as box:
        port = box.port
    with pytest.raises(OSError):
        SmtpChannel(SmtpConfig(host="127.0.0.1", port=port, timeout=2)).send(_receipt("en"))


def test_webhook_is_signed_per_standard_webhooks_and_the_partner_verifies_it() -> None:
    payload = {"type": "vigil.partner.incident_reported.v1", "data": {"area": "E23000001", "grading": "2AP"}}
    with http_receiver(secret=SECRET) as partner:
        WebhookChannel().send(Message("key-1", "webhook", partner.url, payload=payload, secret=SECRET))
        [request] = partner.all()
    assert request.verified is True
    assert request.headers["webhook-id"] == "key-1"
    assert request.json() == payload


def test_webhook_signed_with_the_wrong_secret_is_rejected_by_the_partner() -> None:
    with http_receiver(secret=SECRET) as partner:
        with pytest.raises(PermanentFailure):
            WebhookChannel().send(Message("key-2", "webhook", partner.url, payload={"a": 1},
                                          secret="whsec_" + "QUJD" * 8))
        [request] = partner.all()
    assert request.verified is False


def test_webhook_server_errors_are_transient_and_client_errors_permanent() -> None:
    with http_receiver(secret=SECRET) as partner:
        partner.fail_next = [503, 400]
        channel = WebhookChannel()
        message = Message("key-3", "webhook", partner.url, payload={"a": 1}, secret=SECRET)
        with pytest.raises(RuntimeError):
            channel.send(message)
        with pytest.raises(PermanentFailure):
            channel.send(message)
        channel.send(message)
    assert [r.headers["x-answered"] for r in partner.all()] == ["503", "400", "200"]


def test_sms_gateway_gets_arabic_as_ucs2_within_the_part_limit() -> None:
    text = Templates().render("reporter_receipt", "ar", {"reference": "ACD3479XYZ"}).sms
    with http_receiver() as gateway:
        SmsChannel(SmsGatewayConfig(url=gateway.url, token="gw-token", max_parts=2)).send(
            Message("key-4", "sms", "+447700900123", text=text))
        [request] = gateway.all()
    body = request.json()
    assert request.headers["authorization"] == "Bearer gw-token"
    assert request.headers["idempotency-key"] == "key-4" == body["reference"]
    assert body["to"] == "+447700900123" and body["encoding"] == "ucs2"
    assert body["parts"] <= 2 and "ACD3479XYZ" in body["text"]
