"""Imports every model so that metadata (create_all, Alembic) sees all tables."""
from .declarations.models import Coalition, Declaration  # noqa: F401
from .events.models import Event, Registration  # noqa: F401
from .mail.models import OutboxMessage  # noqa: F401
from .panel.models import Coordinator  # noqa: F401
from .signatures.models import Signature  # noqa: F401
