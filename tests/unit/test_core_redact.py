"""Redaction: registered secrets and secret-looking patterns never reach a message."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from hpcskills.core.redact import MASK, redact, register_secret


def test_registered_secret_is_masked_everywhere() -> None:
    register_secret("correct-horse-battery")
    text = "pw correct-horse-battery, again:correct-horse-battery."
    assert redact(text) == f"pw {MASK}, again:{MASK}."


def test_longer_secret_wins_over_its_prefix() -> None:
    register_secret("abcd")
    register_secret("abcdefgh-long")
    assert redact("x abcdefgh-long y") == f"x {MASK} y"


def test_tiny_or_empty_values_are_not_registered() -> None:
    register_secret("")
    register_secret(None)
    register_secret("ab")
    assert redact("ab cd") == "ab cd"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer eyJhbGciOi.J9.abc-_~+/=",
        "authorization: bearer tok123456",
        "BEARER   spaced-token-value",
    ],
)
def test_bearer_tokens_are_masked(text: str) -> None:
    out = redact(text)
    assert out.split()[-1] == MASK
    assert text.split()[-1] not in out


def test_pem_private_keys_are_masked() -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    ).decode()
    body = pem.splitlines()[1]
    out = redact(f"got key:\n{pem}\nand more")
    assert body not in out
    assert "PRIVATE KEY" not in out
    assert out.startswith("got key:\n[private key redacted]")
    assert out.endswith("and more")


def test_a_truncated_pem_is_masked_to_the_end() -> None:
    out = redact("oops -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0123456789")
    assert "MIIEow" not in out


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=hunter22", "hunter22"),
        ("PASSWORD: hunter22", "hunter22"),
        ("url?user=a&passwd=hunter22&x=1", "hunter22"),
        ('{"password": "hunter22", "user": "a"}', "hunter22"),
        ("{'new_password': 'hunter22'}", "hunter22"),
        ("api_key=AKIAXYZ123", "AKIAXYZ123"),
        ("accessKey: AKIAXYZ123", "AKIAXYZ123"),
        ("totp_secret=JBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP"),
        ("token=abcdef123", "abcdef123"),
    ],
)
def test_secret_assignments_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


def test_redacted_json_stays_json() -> None:
    doc = json.dumps({"password": "hunter22", "user": "alice"})
    assert json.loads(redact(doc)) == {"password": MASK, "user": "alice"}


def test_ordinary_text_is_untouched() -> None:
    text = "job 123 is RUNNING on pilogin.hpc.sjtu.edu.cn; token file saved"
    assert redact(text) == text


def _forms(secret: str) -> dict[str, str]:
    """The ways a message can show a secret: as is, repr(), JSON, percent-encoded."""
    from urllib.parse import quote, quote_plus

    return {
        "raw": secret,
        "repr": repr(secret),
        "json": json.dumps(secret),
        "json-ascii": json.dumps(secret, ensure_ascii=True),
        "json-utf8": json.dumps(secret, ensure_ascii=False),
        "quote": quote(secret, safe=""),
        "quote_plus": quote_plus(secret),
    }


@pytest.mark.parametrize(
    "secret",
    ["SecretKeyPart1\r\nSecretKeyPart2", "pa ss/w0rd+&=?%é令", 'quo"te\\back\ttab-12'],
)
def test_escaped_and_percent_encoded_forms_are_masked(secret: str) -> None:
    register_secret(secret)
    for form, shown in _forms(secret).items():
        text = redact(f"error: header value {shown} refused")
        assert shown not in text, form
        assert "error: header value" in text and "refused" in text


def test_the_parts_of_a_secret_split_at_line_breaks_are_masked() -> None:
    register_secret("FirstLinePart\r\nSecondLinePart\nab")
    assert redact("got 'Bearer ***\\r\\nSecondLinePart'") == f"got 'Bearer ***\\r\\n{MASK}'"
    assert redact("SecondLinePart and FirstLinePart") == f"{MASK} and {MASK}"
    assert redact("ab is a short word") == "ab is a short word"  # tiny parts are not secrets


def test_passwords_inside_urls_are_masked() -> None:
    text = redact("cannot reach https://alice:UrlPass99@perseus.example.org/service")
    assert "UrlPass99" not in text and "perseus.example.org/service" in text
    assert redact("see https://example.org/a@b") == "see https://example.org/a@b"


def test_a_registered_key_does_not_break_the_masking_of_another() -> None:
    """Lines of a registered key (some are the same in every OpenSSH key) must not keep a
    different key's block from being replaced whole."""
    def new_pem() -> str:
        return Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
        ).decode()

    register_secret(new_pem())
    out = redact(f"got key:\n{new_pem().strip()}\nand more")
    assert out == "got key:\n[private key redacted]\nand more"


@pytest.mark.parametrize(
    "text",
    [
        '{"password": "correct horse battery staple", "user": "a"}',
        "{'new_password': 'correct horse battery staple'}",
        '{"token": "correct horse \\" battery staple"}',
        'error: {"password": "correct horse battery staple',  # cut off mid-value
    ],
)
def test_a_quoted_secret_is_masked_whole_not_only_its_first_word(text: str) -> None:
    out = redact(text)
    for word in ("correct", "horse", "battery", "staple"):
        assert word not in out, out
    assert MASK in out


def test_a_masked_value_survives_redaction_unchanged() -> None:
    doc = json.dumps({"changes": {"email": "a@b.org", "password": MASK}})
    assert redact(doc) == doc
