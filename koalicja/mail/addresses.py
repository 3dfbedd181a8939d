"""Which e-mail addresses belong to the same mailbox."""

_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def mailbox_key(address):
    """A key equal for addresses that reach the same mailbox.

    Case never matters in practice; at Gmail dots and `+tags` in the local part do not
    matter either, and googlemail.com is the same service.
    """
    local, _, domain = address.strip().casefold().rpartition("@")
    domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"
