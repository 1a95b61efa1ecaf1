"""ipyviz.datasets.reuters() on a tiny corpus in nltk's Reuters-21578 layout, and its offline error."""

import nltk
import pytest

from ipyviz import datasets

DOCS = {
    "training/1": ("grain wheat", "CHINA BUYS WHEAT\n  China bought 200,000 tonnes of wheat.\n"),
    "training/5": ("crude", "OPEC OUTPUT\n  Crude oil output rose <sharply> & prices fell.\n"),
    "training/9": ("crude nat-gas", "GAS PRICES\n  Natural gas and crude prices rose.\n"),
    "test/14826": ("grain", "RICE CROP\n  The rice crop was large.\n"),
}


@pytest.fixture
def fake_nltk_data(monkeypatch, tmp_path):
    root = tmp_path / "corpora" / "reuters"
    for fileid, (cats, text) in DOCS.items():
        (root / fileid).parent.mkdir(parents=True, exist_ok=True)
        (root / fileid).write_text(text, encoding="ISO-8859-2")
    (root / "cats.txt").write_text("".join(f"{f} {c}\n" for f, (c, _) in DOCS.items()), encoding="ISO-8859-2")
    (root / "stopwords").write_text("a\nthe\nof\n", encoding="ISO-8859-2")
    (root / "README").write_text("tiny test corpus\n")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("nltk.download must never run"))
    return tmp_path


def test_loads_texts_categories_and_the_train_test_split(fake_nltk_data):
    data = datasets.reuters()
    assert data.fileids == ["test/14826", "training/1", "training/5", "training/9"]
    assert data.split == ["test", "train", "train", "train"]
    assert data.categories == [("grain",), ("grain", "wheat"), ("crude",), ("crude", "nat-gas")]
    assert data.texts[1] == DOCS["training/1"][1] and "<sharply> &" in data.texts[2]
    assert data.category_names == ["crude", "grain", "nat-gas", "wheat"]
    assert "4 documents (3 train / 1 test)" in datasets.last_source and str(fake_nltk_data) in datasets.last_source


def test_split_and_category_filters(fake_nltk_data):
    train = datasets.reuters(split="train")
    assert train.fileids == ["training/1", "training/5", "training/9"] and set(train.split) == {"train"}
    assert datasets.reuters(split="test").fileids == ["test/14826"]
    crude = datasets.reuters(categories="crude")
    assert crude.fileids == ["training/5", "training/9"] and crude.category_names == ["crude", "nat-gas"]
    assert datasets.reuters(split="test", categories=["grain", "crude"]).fileids == ["test/14826"]
    with pytest.raises(ValueError, match="valid ones"):
        datasets.reuters(categories="bananas")
    with pytest.raises(ValueError, match="train"):
        datasets.reuters(split="validation")


def test_follows_a_changed_nltk_data_path(fake_nltk_data, monkeypatch, tmp_path_factory):
    datasets.reuters()  # loaded once from the fake corpus...
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path_factory.mktemp("empty"))])
    with pytest.raises(datasets.DatasetUnavailable):  # ...and not cached past a changed path
        datasets.reuters()


def test_offline_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("nltk.download must never run"))
    with pytest.raises(datasets.DatasetUnavailable, match=r"python -m nltk.downloader reuters") as info:
        datasets.reuters()
    assert str(tmp_path) in str(info.value)


def test_feeds_the_text_pipeline(fake_nltk_data):
    from ipyviz.text import Vocabulary, tokenize_documents

    data = datasets.reuters(split="train")
    docs = tokenize_documents(data.texts, drop_numbers=True)
    assert docs[0] == ["china", "buys", "wheat", "china", "bought", "tonnes", "of", "wheat"]
    vocab = Vocabulary.build(docs, min_count=2)
    assert vocab.most_common(3) == [("prices", 3), ("china", 2), ("wheat", 2)] and vocab.counts[vocab["crude"]] == 2
