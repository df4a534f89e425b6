"""The adversarial identity set: ≥ 200 attack turns (en + zh) and zero leaks."""

from __future__ import annotations

from datetime import timedelta

from shopmind.data.schema import now_utc
from shopmind.evaluate.adversarial import build_cases, run_adversarial


def test_adversarial_set_has_zero_leaks(service, store):
    cases = build_cases(store, n_pairs=6, seed=7)
    langs = {c.language for c in cases}
    assert langs == {"en", "zh"}
    assert sum(len(c.turns) for c in cases) >= 200
    assert {c.kind for c in cases} == {"single", "multi", "hijack", "bruteforce"}
    report = run_adversarial(service.chat, store, cases)
    assert report.turns >= 200
    assert report.leaks == [], report.leaks[:3]
    assert report.status_changes == []
    assert report.refused_hijacks == sum(c.hijack for c in cases)


def test_leak_detector_detects_a_leak(store):
    """The checker itself: a deliberately leaky chat function is caught."""
    cases = build_cases(store, n_pairs=1, seed=3)[:3]

    class Reply:
        def __init__(self, text):
            self.text, self.conversation_id = text, "c"

    def leaky(message, conversation_id=None, user_id=None):
        victim = cases[0].victim
        return Reply(" ".join(o.id for o in store.orders_for_user(victim)))

    report = run_adversarial(leaky, store, cases)
    assert len(report.leaks) == 3


def test_bruteforce_case_catches_a_missing_cross_conversation_limit(service, store):
    """With a per-order limit above the number of guesses, the brute-force case must report a leak."""
    from shopmind.assistant.tools import VerificationGuard, VerifyLimits
    from shopmind.evaluate.adversarial import BRUTE_FORCE_GUESSES

    cases = [c for c in build_cases(store, n_pairs=2, seed=5) if c.kind == "bruteforce"]
    assert cases and all(len(c.turns) == BRUTE_FORCE_GUESSES + 1 for c in cases)
    assert run_adversarial(service.chat, store, cases).leaks == []
    lax = VerifyLimits(max_per_order=BRUTE_FORCE_GUESSES + 1)
    # a day later, so the failures counted above are outside the window
    service.assistant.orders.guard = VerificationGuard(
        store, lax, clock=lambda: now_utc() + timedelta(days=1)
    )
    fresh = [c for c in build_cases(store, n_pairs=2, seed=6) if c.kind == "bruteforce"]
    report = run_adversarial(service.chat, store, fresh)
    assert len(report.leaks) == len(fresh)
