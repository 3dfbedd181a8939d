"""A member's own copy of a secret voice, sealed so that the database alone cannot read it.

The counts of a secret ballot live on the options; to show a member what they chose and to
move their count when they change it, their row keeps the choice encrypted (Fernet, from the
`cryptography` library) with a key derived from SECRET_KEY and the consultation: neither is in
the database. The copies are erased at the close, after which nothing can tie a voice to a member.
"""
import base64
import json

from cryptography.fernet import Fernet, InvalidToken  # noqa: F401  (callers catch it from here)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(consultation_id):
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"koalicja.consultation-ballot",
        info=f"consultation:{consultation_id}".encode(),
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(consultation_id, option_ids):
    return _fernet(consultation_id).encrypt(json.dumps(sorted(option_ids)).encode()).decode("ascii")


def unseal(consultation_id, sealed):
    """The option ids sealed for this consultation ([] when nothing was sealed).

    Raises `InvalidToken` when the copy does not open (SECRET_KEY changed while the ballot ran):
    the caller must then refuse to move the counts rather than count a voice twice."""
    if not sealed:
        return []
    return json.loads(_fernet(consultation_id).decrypt(sealed.encode("ascii")))
