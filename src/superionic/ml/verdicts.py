"""The words of the ML verdicts, each naming the rule it applies (no heavy imports).

Two rules are reported side by side and never mixed:

- the calibrated probability (``prob_calibrated >= 0.5``), the ranking score, with the
  applicability-domain flag;
- the seed's unanimity rule: superionic only when every split model of both algorithms
  votes superionic ("seed rule: 19/20 + 20/20 votes, needs all" reads: not superionic).
"""

from __future__ import annotations

PROBABILITY_CUT = 0.5


def probability_verdict(prob_calibrated: float | None, prob_mean: float | None = None,
                        in_domain: bool | None = None) -> str | None:
    """'likely superionic (calibrated p >= 0.5)' etc.; '; out of domain' when flagged."""
    if prob_calibrated is not None:
        p, rule = prob_calibrated, "calibrated p"
    elif prob_mean is not None:
        p, rule = prob_mean, "uncalibrated mean p"
    else:
        return None
    sign = ">=" if p >= PROBABILITY_CUT else "<"
    words = "likely superionic" if p >= PROBABILITY_CUT else "unlikely superionic"
    text = f"{words} ({rule} {sign} {PROBABILITY_CUT:g})"
    if in_domain is False:
        text += "; out of domain: extrapolation"
    return text


def seed_rule_text(votes_gb: int | None, votes_lgbm: int | None, n_splits: int | None,
                   seed_verdict: bool | None) -> str | None:
    """'seed rule: 19/20 + 20/20 votes, needs all: not superionic'."""
    if votes_gb is None or votes_lgbm is None or not n_splits or seed_verdict is None:
        return None
    outcome = "superionic" if seed_verdict else "not superionic"
    return f"seed rule: {votes_gb}/{n_splits} + {votes_lgbm}/{n_splits} votes, needs all: {outcome}"
