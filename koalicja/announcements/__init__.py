"""Writing to allies: announcements by e-mail with one-click unsubscribe (RFC 8058)."""
