"""Arbitrary messages through the assistant (hypothesis): every message gets a reply, none crashes."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ODD = ["", " ", "8 x 1/2", "!!!", "???", "12345", "\x00", "\u200b", "中", "耳机 headphones наушники 🎧",
       "where is my order " * 600, "退款" * 5000, "<script>alert(1)</script>", "'; DROP TABLE orders; --"]  # fmt: skip
MESSAGES = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=200),
    st.text(alphabet=string.punctuation + " ", max_size=40),
    st.text(alphabet=string.digits + " ", max_size=40),
    st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Z", "M")), max_size=80),
)


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(message=MESSAGES, user=st.sampled_from([None, "U00001", "nobody"]))
def test_chat_answers_any_message(service, message: str, user: str | None) -> None:
    reply = service.chat(message, user_id=user)
    assert isinstance(reply.text, str) and reply.text.strip()
    assert reply.conversation_id
