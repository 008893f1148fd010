"""Pain-management knowledge the classifier applies after the code tables (reference section 5): procedure families
and spinal regions, claim history (frequency limits and prerequisites), modifier checks, bundling and duplicates."""

from service.domain.pain.families import ProcedureCatalog, ProcedureInfo
from service.domain.pain.rules import PainRules

__all__ = ["PainRules", "ProcedureCatalog", "ProcedureInfo"]
