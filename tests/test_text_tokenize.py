import nltk
import pytest

from ipyviz.text import english_stopwords, tokenize, tokenize_documents


def test_regexp_default_keeps_abbreviations_contractions_and_numbers():
    text = "The U.S. economy grew 3.5% in 1987, didn't it? Well-known firms..."
    assert tokenize(text) == [
        "the", "u.s.", "economy", "grew", "3.5%", "in", "1987", "didn't", "it", "well-known", "firms"
    ]


def test_options_lower_punct_numbers_min_length():
    text = "Oil rose 2.5 dlrs, to $18.00!"
    assert tokenize(text, lower=False) == ["Oil", "rose", "2.5", "dlrs", "to", "18.00"]
    assert tokenize(text, drop_numbers=True) == ["oil", "rose", "dlrs", "to"]
    assert tokenize(text, drop_punct=False) == ["oil", "rose", "2.5", "dlrs", ",", "to", "$", "18.00", "!"]
    assert tokenize(text, drop_numbers=True, min_length=3) == ["oil", "rose", "dlrs"]
    assert tokenize("1980s mp3", drop_numbers=True) == ["1980s", "mp3"]  # letters inside: not a number


def test_treebank_and_toktok_need_no_downloaded_data_and_split_every_sentence():
    text = "Don't stop. It works! Really"
    assert tokenize(text, tokenizer="treebank") == ["do", "n't", "stop", "it", "works", "really"]
    assert tokenize(text, tokenizer="treebank", drop_punct=False)[:4] == ["do", "n't", "stop", "."]
    assert "works" in tokenize(text, tokenizer="toktok")  # not "works!" although toktok splits sentence ends only


def test_callable_tokenizer_and_bad_input():
    assert tokenize("a-b c", tokenizer=str.split) == ["a-b", "c"]
    with pytest.raises(ValueError, match="regexp"):
        tokenize("x", tokenizer="punkt")
    with pytest.raises(TypeError, match="decode"):
        tokenize_documents(["ok", b"bytes"])


def test_stopwords_removed_after_lowercasing():
    stop = english_stopwords("ipyviz")
    assert tokenize("The cat AND the hat", stopwords=stop) == ["cat", "hat"]
    assert tokenize("The cat", stopwords={"The"}, lower=False) == ["cat"]


def test_shipped_stopword_list():
    stop = english_stopwords("ipyviz")
    assert len(stop) == 179 and {"the", "and", "of", "don't", "wouldn"} <= stop
    assert not {"economy", "oil", "#"} & stop and all(w == w.lower() for w in stop)


@pytest.fixture
def nltk_path(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    return tmp_path


def test_stopwords_auto_uses_nltk_list_when_present(nltk_path):
    folder = nltk_path / "corpora" / "stopwords"
    folder.mkdir(parents=True)
    (folder / "english").write_text("the\nand\nzyzzyva\n", encoding="utf-8")
    assert english_stopwords("nltk") == {"the", "and", "zyzzyva"}
    assert english_stopwords() == {"the", "and", "zyzzyva"}


def test_stopwords_without_nltk_data(nltk_path):
    assert english_stopwords() == english_stopwords("ipyviz")
    with pytest.raises(LookupError, match="nltk.downloader stopwords"):
        english_stopwords("nltk")
    with pytest.raises(ValueError, match="auto"):
        english_stopwords("french")
