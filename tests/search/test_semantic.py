"""Semantic index: exact vs ANN, updates, persistence; what Chinese gets from the English MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.search.semantic import SemanticIndex, encode_cached

from .conftest import HashEncoder


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_ann_agrees_with_exact_search(tmp_path):
    vecs = _unit(3000, 32, 0)
    exact = SemanticIndex(vecs, encoder=HashEncoder(), ann_threshold=10**9)
    ann = SemanticIndex(vecs, encoder=HashEncoder(), ann_threshold=1000)
    ann._maybe_build_ann()
    assert ann._ann is not None and exact._ann is None
    recall = []
    for q in _unit(20, 32, 1):
        e_rows, _ = exact.top(q, 10)
        a_rows, a_sims = ann.top(q, 10)
        recall.append(len(set(e_rows.tolist()) & set(a_rows.tolist())) / 10)
        assert np.all(np.diff(a_sims) <= 1e-6)
    assert np.mean(recall) >= 0.9
    ann.save(tmp_path / "s")
    again = SemanticIndex.load(tmp_path / "s", encoder=HashEncoder(), ann_threshold=1000)
    assert again._ann is not None
    q = _unit(1, 32, 2)[0]
    assert again.top(q, 5)[0].tolist() == ann.top(q, 5)[0].tolist()


def test_alive_mask_and_appended_rows_are_searched():
    enc = HashEncoder()
    idx = SemanticIndex.build(["red shoe", "blue shirt", "green hat"], encoder=enc, ann_threshold=2)
    idx.append(["red shoe deluxe"])
    q = idx.embed_query("red shoe")
    rows, _ = idx.top(q, 2)
    assert set(rows.tolist()) == {0, 3}
    alive = np.array([False, True, True, True])
    assert idx.top(q, 1, alive=alive)[0].tolist() == [3]


class CountingEncoder(HashEncoder):
    """HashEncoder that records every text it is asked to encode."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.encoded.extend(texts)
        return super().encode(texts, batch_size)


def test_embedding_cache_encodes_only_new_texts(tmp_path):
    enc = CountingEncoder()
    a = encode_cached(enc, ["x", "y", "x"], tmp_path)
    assert enc.encoded == ["x", "y"]  # a repeated text is encoded once
    assert np.array_equal(a, HashEncoder().encode(["x", "y", "x"]))
    enc.encoded.clear()
    b = encode_cached(enc, ["y", "x"], tmp_path)
    assert enc.encoded == [] and np.array_equal(b, a[[1, 0]])
    c = encode_cached(enc, ["x", "z"], tmp_path)
    assert enc.encoded == ["z"] and np.array_equal(c, HashEncoder().encode(["x", "z"]))
    # another encoder name never reads these vectors
    other = CountingEncoder()
    other.name = "hash-64-b"
    encode_cached(other, ["x"], tmp_path)
    assert other.encoded == ["x"]
    assert not list(tmp_path.rglob("*.part")) and not list(tmp_path.rglob("*.pkl"))


def test_second_build_encodes_nothing_and_a_changed_title_one_text(tmp_path):
    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch

    from .conftest import ITEMS

    enc = CountingEncoder()
    ProductSearch.build(ITEMS, config=SearchConfig(), encoder=enc, cache_dir=tmp_path)
    assert len(enc.encoded) == len(ITEMS)
    enc.encoded.clear()
    first = ProductSearch.build(ITEMS, config=SearchConfig(), encoder=enc, cache_dir=tmp_path)
    assert enc.encoded == []
    changed = [dict(it) for it in ITEMS]
    changed[3]["title"] = "Bose QuietComfort Ultra Earbuds"
    again = ProductSearch.build(changed, config=SearchConfig(), encoder=enc, cache_dir=tmp_path)
    assert len(enc.encoded) == 1 and "Ultra" in enc.encoded[0]
    assert first.semantic is not None and again.semantic is not None
    same = [i for i in range(len(ITEMS)) if i != 3]
    assert np.array_equal(first.semantic.vectors[same], again.semantic.vectors[same])


def test_embedding_cache_is_bounded_and_merges_shards(tmp_path):
    from shopmind.search import semantic

    enc = CountingEncoder()
    for i in range(semantic.CACHE_MAX_SHARDS + 3):
        encode_cached(enc, [f"text {i}"], tmp_path)
    cache = semantic.VectorCache(tmp_path, enc.name)
    assert 1 <= len(cache.shards()) <= semantic.CACHE_MAX_SHARDS
    enc.encoded.clear()
    encode_cached(enc, [f"text {i}" for i in range(semantic.CACHE_MAX_SHARDS + 3)], tmp_path)
    assert enc.encoded == []  # merging lost nothing
    # a budget of about two vectors keeps only the most recently used ones
    small = 2 * (HashEncoder.dim * 4 + 32) + 600
    for i in range(6):
        encode_cached(enc, [f"other {i}"], tmp_path / "small", max_bytes=small)
    kept = semantic.VectorCache(tmp_path / "small", enc.name, max_bytes=small)
    assert sum(p.stat().st_size for p in kept.shards()) <= small or len(kept.shards()) == 1
    enc.encoded.clear()
    encode_cached(enc, ["other 5"], tmp_path / "small", max_bytes=small)
    assert enc.encoded == []


def test_embedding_cache_skips_a_broken_shard(tmp_path):
    enc = CountingEncoder()
    encode_cached(enc, ["a", "b"], tmp_path)
    (shard,) = list(tmp_path.rglob("shard-*.npz"))
    shard.write_bytes(b"not a zip")
    enc.encoded.clear()
    out = encode_cached(enc, ["a", "b"], tmp_path)
    assert enc.encoded == ["a", "b"] and np.array_equal(out, HashEncoder().encode(["a", "b"]))


@pytest.fixture(scope="module")
def minilm():
    from shopmind.embeddings import get_encoder

    return get_encoder(None)


@pytest.mark.slow
def test_what_chinese_queries_get_from_the_english_model(minilm):
    """The packaged all-MiniLM-L6-v2 is English. Measured behaviour, pinned here:

    * Chinese query → Chinese titles: matched by shared characters (surface overlap), so
      "蓝牙耳机" finds "蓝牙无线耳机"; but a query sharing no characters with its product gets nothing.
    * No cross-language retrieval: "蓝牙耳机" is far from "Bluetooth wireless earphones".
    * Every Chinese text sits closer to other Chinese text than to English text, related or not.
    So Chinese relevance must come from the lexical side (jieba + bigrams).
    """
    docs = ["Bluetooth wireless earphones", "Stainless steel kitchen knife", "Leather office chair",
            "蓝牙无线耳机", "不锈钢菜刀", "真皮办公椅"]  # fmt: skip
    D = minilm.encode(docs)
    Q = minilm.encode(["蓝牙耳机", "办公椅", "wireless earbuds", "座椅"])
    S = Q @ D.T
    assert int(np.argmax(S[0])) == 3 and S[0, 3] > 0.8  # shared characters 蓝牙…耳机
    assert int(np.argmax(S[1])) == 5  # 办公椅 ⊂ 真皮办公椅
    assert S[0, 0] < 0.3  # but not the English Bluetooth earphones
    assert int(np.argmax(S[2])) == 0 and S[2, 0] > 0.6  # English works as expected
    # 座椅 (seat) shares one character with 办公椅; any Chinese doc beats every English doc
    assert S[3, 3:].min() > S[3, :3].max()


def test_appends_grow_a_buffer_and_keep_every_vector():
    enc = HashEncoder()
    idx = SemanticIndex.build(["red shoe", "blue shirt"], encoder=enc, ann_threshold=10**9)
    texts = ["red shoe", "blue shirt"]
    for batch in (["green hat"], ["yellow scarf", "black boot"], ["white sock"] * 70):
        idx.append(batch)
        texts += batch
        np.testing.assert_allclose(idx.vectors, enc.encode(texts), atol=1e-6)
    assert idx.vectors.base is idx._buffer and len(idx._buffer) >= len(texts)
    assert idx.top(idx.embed_query("black boot"), 1)[0].tolist() == [texts.index("black boot")]


def test_a_selective_filter_searches_the_passing_rows_exactly():
    vecs = _unit(3000, 32, 3)
    ann = SemanticIndex(vecs, encoder=HashEncoder(), ann_threshold=1000)
    ann._maybe_build_ann()
    alive = np.zeros(3000, bool)
    alive[::100] = True  # 30 rows pass: fewer than EXACT_PER_WANT × want
    q = _unit(1, 32, 4)[0]
    rows, sims = ann.top(q, 5, alive=alive)
    passing = np.flatnonzero(alive)
    want = passing[np.argsort(-(vecs[passing] @ q))[:5]]
    assert rows.tolist() == want.tolist() and np.all(np.diff(sims) <= 0)
