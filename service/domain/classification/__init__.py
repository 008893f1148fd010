"""Denial classification: every adjustment of a remittance gets a cause, an action, a team, two clocks, a checklist
and a one-sentence reason, from the versioned rule tables in `service/domain/data/`.

    from service.domain.classification import load_classifier, Classifier
    clf = load_classifier()
    clf.classify(remit, facts=facts, history=history, as_of=None)   # list[model.Decision]
    clf.classify_status(report, facts=facts)                         # list[model.StatusDecision]
"""

from service.domain.classification.engine import Classifier, load_classifier

__all__ = ["Classifier", "load_classifier"]
