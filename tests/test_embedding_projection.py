"""PCA, sign fixing, Procrustes alignment and the Projector: stable pictures across updates."""

import importlib.util

import numpy as np
import pytest

from ipyviz.embedding.projection import Projector, available_methods, fix_signs, pca, procrustes


def spread_data(n=2000, d=16, seed=0):
    """Data with clearly distinct variances along its axes (so PCA axes are well defined)."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, d)
    x = rng.standard_gamma(2.0, size=(n, d)) * scales  # skewed: the sign rule has something to read
    return (x + rng.normal(size=d)).astype(np.float32)


def random_orthogonal(d, seed=1):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def test_pca_equals_svd_pca_up_to_sign():
    x = spread_data()
    centred = x.astype(np.float64) - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    reference = u[:, :2] * s[:2]
    got = pca(x)
    assert got.shape == (len(x), 2) and got.dtype == np.float32
    for j in range(2):
        sign = np.sign(got[:, j] @ reference[:, j])
        np.testing.assert_allclose(got[:, j], sign * reference[:, j], atol=1e-4 * np.abs(reference).max())


def test_signs_are_fixed_by_the_scores():
    x = spread_data()
    np.testing.assert_allclose(pca(-x), pca(x), atol=1e-4)  # negating the space flips every axis back
    for column in pca(x).T:
        assert np.mean(column**3) > 0  # positive skewness
    skewed = np.stack([-np.arange(6.0) ** 2, np.arange(6.0) ** 2], axis=1)
    for column in fix_signs(skewed - skewed.mean(axis=0)).T:
        assert np.mean((column - column.mean()) ** 3) > 0


def test_symmetric_column_sign_uses_the_most_extreme_point():
    column = np.array([[-2.0], [-1.0], [0.0], [1.0], [2.001]], dtype=np.float32)  # skewness ~ 0
    assert fix_signs(column)[4, 0] > 0 and fix_signs(-column)[4, 0] > 0


def test_pca_is_rotation_invariant_without_alignment():
    x = spread_data()
    for seed in range(6):  # eigenvector signs from LAPACK are arbitrary: several rotations catch it
        rotated = x @ random_orthogonal(x.shape[1], seed)
        np.testing.assert_allclose(pca(rotated), pca(x), atol=2e-3)


def isotropic_plane(n=3000, seed=3):
    """Data whose top two variances are exactly equal: PCA alone may return any rotation of them."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    z -= z.mean(axis=0)
    u, _, _ = np.linalg.svd(z, full_matrices=False)
    noise = rng.normal(size=(n, 10))
    noise -= noise.mean(axis=0)
    noise -= u @ (u.T @ noise)  # uncorrelated with the plane
    return np.hstack([2 * np.sqrt(n) * u, 0.3 * noise]).astype(np.float32)


def test_projector_keeps_a_rotated_space_still():
    x = isotropic_plane()
    projector = Projector()
    first = projector(x)
    unaligned = []
    for seed in range(4):
        rotated = x @ random_orthogonal(12, seed + 10)
        unaligned.append(np.abs(pca(rotated) - first).max())
        again = projector(rotated)
        assert np.abs(again - first).max() < 1e-3 * np.abs(first).max()
    assert max(unaligned) > 0.1 * np.abs(first).max()  # without alignment the picture does turn


def test_small_noise_moves_the_picture_little():
    x = spread_data()
    projector = Projector()
    first = projector(x)
    noise = 0.01 * np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    moved = projector(x + noise)
    movement = np.linalg.norm(moved - first, axis=1).mean()
    assert movement < 0.05  # the noise itself is ~0.0125 a point in the projected plane
    assert movement < 0.01 * np.linalg.norm(first, axis=1).mean()


def test_procrustes_recovers_rotation_reflection_and_optional_scale():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(500, 2)).astype(np.float32)
    angle = 1.1
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    reflected = reference @ rotation @ np.diag([1, -1]) + np.array([5.0, -2.0])
    np.testing.assert_allclose(procrustes(reflected, reference), reference, atol=1e-4)
    scaled = 3.0 * reflected
    unscaled = procrustes(scaled, reference)
    assert np.std(unscaled) == pytest.approx(3 * np.std(reference), rel=1e-3)
    np.testing.assert_allclose(procrustes(scaled, reference, scale=True), reference, atol=1e-4)
    with pytest.raises(ValueError, match="shapes"):
        procrustes(reference[:10], reference)


def test_projector_scale_option_and_growth_shown_by_default():
    x = spread_data()
    projector = Projector()
    first = projector(x)
    grown = projector(2 * x)
    assert np.std(grown) == pytest.approx(2 * np.std(first), rel=1e-3)
    keep = Projector(scale=True)
    keep(x)
    np.testing.assert_allclose(keep(2 * x), first, atol=1e-3)


def test_new_row_count_starts_afresh():
    projector = Projector()
    projector(spread_data(500))
    out = projector(spread_data(300, seed=4))
    np.testing.assert_allclose(out, pca(spread_data(300, seed=4)), atol=1e-5)


def test_low_dimensional_and_bad_inputs():
    one_d = pca(np.arange(10, dtype=np.float32).reshape(-1, 1))
    assert one_d.shape == (10, 2) and np.all(one_d[:, 1] == 0)
    with pytest.raises(ValueError, match="2-D"):
        pca(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        pca(np.array([[1.0, np.nan], [0, 1]]))
    with pytest.raises(ValueError, match="pca, tsne, umap"):
        Projector("lda")


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is not None, reason="scikit-learn is installed")
def test_missing_optional_method_says_what_to_install():
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        Projector("tsne")
    assert "pca" in available_methods() and "tsne" not in available_methods()


def test_tsne_is_warm_started_from_the_previous_layout():
    pytest.importorskip("sklearn")
    x = spread_data(300, 8)
    projector = Projector("tsne")
    first = projector(x)
    again = projector(x + 1e-4)
    assert np.abs(again - first).mean() < 0.5 * np.abs(first).mean()


def test_umap_is_warm_started_from_the_previous_layout():
    pytest.importorskip("umap")
    x = spread_data(300, 8)
    projector = Projector("umap")
    first = projector(x)
    again = projector(x + 1e-4)
    assert np.abs(again - first).mean() < 0.5 * np.abs(first).mean()
