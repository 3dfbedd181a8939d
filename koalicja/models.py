"""Imports every model so that metadata (create_all, Alembic) sees all tables."""
from .announcements.models import Announcement  # noqa: F401
from .coalitions.models import Coalition, Declaration, DeclarationVersion, Endorsement  # noqa: F401
from .consultations.models import Consultation, ConsultationMember, ConsultationOpinion, ConsultationOption  # noqa: F401
from .coordinators.audit import AuditEntry  # noqa: F401
from .coordinators.models import Coordinator  # noqa: F401
from .events.models import CheckInScan, Event, Registration  # noqa: F401
from .mail.models import OutboxMessage  # noqa: F401
from .profiles.models import OrganisationProfile  # noqa: F401
from .security import SpentFormStart  # noqa: F401
from .signatures.models import Signature  # noqa: F401
