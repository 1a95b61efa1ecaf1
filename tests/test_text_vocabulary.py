import numpy as np
import pytest

from ipyviz.text import Vocabulary

DOCS = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "rare", "word"], ["the"]]


def test_build_orders_by_count_then_first_seen_and_reserves_0_and_1():
    v = Vocabulary.build(DOCS)
    assert v.words[:2] == ["<pad>", "<unk>"]
    assert v.words[2:] == ["the", "sat", "cat", "dog", "a", "rare", "word"]
    assert v.counts.tolist() == [0, 0, 3, 2, 1, 1, 1, 1, 1] and v.total == 10
    assert v.index["the"] == 2 and len(v) == 9


def test_min_count_and_max_size_send_words_to_oov_and_count_them():
    v = Vocabulary.build(DOCS, min_count=2)
    assert v.words == ["<pad>", "<unk>", "the", "sat"]
    assert v.counts.tolist() == [0, 5, 3, 2]  # 5 tokens fell below min_count
    v = Vocabulary.build(DOCS, max_size=3)  # rows including padding and OOV
    assert v.words == ["<pad>", "<unk>", "the"] and v.counts[1] == 7
    assert v.total == 10


def test_encode_decode_round_trip_and_oov():
    v = Vocabulary.build(DOCS, min_count=2)
    ids = v.encode(["the", "dog", "sat"])
    assert ids.dtype == np.int32 and ids.tolist() == [2, 1, 3]
    assert v.decode([0, 2, 1, 3, 0]) == ["the", "<unk>", "sat"]
    assert v.decode([0, 2], skip_padding=False) == ["<pad>", "the"]
    assert [a.tolist() for a in v.encode_documents(DOCS[:2])] == [[2, 1, 3], [2, 1, 3]]
    assert v["dog"] == 1 and v["the"] == 2
    assert "the" in v and "dog" not in v and "<unk>" not in v
    assert v.encode([]).shape == (0,)
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        v.decode([7])


def test_most_common_skips_reserved_rows():
    v = Vocabulary.build(DOCS)
    assert v.most_common(2) == [("the", 3), ("sat", 2)]
    assert len(v.most_common()) == 7


def test_from_counts_mapping():
    v = Vocabulary({"b": 5, "a": 5, "c": 1}, min_count=2)
    assert v.words == ["<pad>", "<unk>", "b", "a"] and v.counts.tolist() == [0, 1, 5, 5]


def test_clear_errors():
    with pytest.raises(TypeError, match="tokenize first"):
        Vocabulary.build(["a whole string"])
    with pytest.raises(ValueError, match="reserved token '<unk>'"):
        Vocabulary.build([["<unk>", "x"]])
    with pytest.raises(ValueError, match="max_size"):
        Vocabulary.build(DOCS, max_size=1)
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(DOCS, min_count=0)
    with pytest.raises(TypeError, match="list of tokens"):
        Vocabulary.build(DOCS).encode("the cat")
