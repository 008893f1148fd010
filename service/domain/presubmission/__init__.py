"""The pre-submission check: findings on a claim before it is submitted (rules in `data/check_rules.toml`)."""

from service.domain.presubmission.check import Checker, load_checker, submitted_on
from service.domain.presubmission.context import CheckContext, PriorSubmission
from service.domain.presubmission.findings import DENY, WARN, ClaimOutcome, Finding, outcome_of
from service.domain.presubmission.ncci import MueEdit, NcciTables, PtpEdit
from service.domain.presubmission.rules import CheckRules, PreventionCheck

__all__ = ["DENY", "WARN", "CheckContext", "CheckRules", "Checker", "ClaimOutcome", "Finding", "MueEdit",
           "NcciTables", "PreventionCheck", "PriorSubmission", "PtpEdit", "load_checker", "outcome_of",
           "submitted_on"]
