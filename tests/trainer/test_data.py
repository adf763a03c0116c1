"""Crops, patches, scales, normalisation and readers of the training data."""

from __future__ import annotations

import numpy as np
import pytest

from engine import networks
from engine.io import plane_slices
from engine.upscaler import Upscaler
from engine.weights import WeightsInfo
from trainer.data.crops import augment, centre_crop, max_info_crop, tiles, unit_range
from trainer.data.dataset import Crops, PatchBatches, Source, load_crops, parse_keep
from trainer.data.scales import TRAIN_SCALES, ScaleSampler, exact_sizes
from trainer.data.scans import TrainingDataError, brats_files, read_volume

from .conftest import smooth_images


def test_exact_patch_sizes_are_the_issue_examples():
    assert exact_sizes(1.1, 96) == (80, 88)
    assert exact_sizes(3.7, 96) == (20, 74)
    assert exact_sizes(2.0, 96) == (48, 96)
    assert exact_sizes(2.5, 96) == (38, 95)
    for r in TRAIN_SCALES:
        m, n = exact_sizes(r, 96)
        assert n <= 96 and abs(n / m - r) < 1e-12 and n >= 60


def test_train_scales_are_the_papers_thirty():
    assert len(TRAIN_SCALES) == 30 and TRAIN_SCALES[0] == 1.1 and TRAIN_SCALES[-1] == 4.0


def test_scale_sampler_is_seeded_and_covers_every_scale():
    s = ScaleSampler(seed=3)
    draws = [s(i) for i in range(3000)]
    assert draws == [ScaleSampler(seed=3)(i) for i in range(3000)]
    counts = {r: draws.count(r) for r in TRAIN_SCALES}
    assert set(counts) == set(TRAIN_SCALES) and min(counts.values()) > 60  # ~100 each
    assert [ScaleSampler(seed=4)(i) for i in range(50)] != draws[:50]


def test_max_info_crop_finds_the_signal():
    img = np.zeros((300, 260), np.float32)
    img[150:270, 40:170] = 1.0  # the "brain"
    img[5:15, 200:250] = 0.5
    crop, fg = max_info_crop(img, 128)
    assert crop.shape == (128, 128)
    assert fg == pytest.approx(120 * 128 / 128**2)
    assert crop.sum() == pytest.approx(120 * 128)


def test_centre_crop_tiles_and_augment_shapes():
    img = np.arange(128 * 128, dtype=np.float32).reshape(128, 128)
    c = centre_crop(img, 121)
    assert c.shape == (121, 121) and c[0, 0] == img[3, 3]
    assert len(tiles(np.zeros((300, 520)), 128)) == 2 * 4
    p = np.arange(12.0).reshape(3, 4)
    outs = {augment(p, k).tobytes() for k in range(8)}
    assert len(outs) == 8  # the 8 distinct flips/rotations


def test_unit_range_matches_the_engine_normalisation(rng):
    x = rng.gamma(2.0, 100.0, size=(60, 50)).astype(np.float32)
    up = Upscaler(networks.make({"name": "meta_srgan", "args": {"blocks": 1}}), WeightsInfo(arch={"name": "meta_srgan"}), __import__("torch").device("cpu"), bf16=False)
    v, _, _ = up._normalise(x, None)
    np.testing.assert_allclose((unit_range(x) - up.mean) / up.std, v, rtol=1e-5, atol=1e-5)


def test_patch_batches_shapes_reproducibility_and_sharding():
    crops = Crops(smooth_images(5, 128), [str(i) for i in range(5)])
    pb = PatchBatches(crops, batch=8, mean=0.5, std=0.25, seed=1)
    lr, hr, r = pb.batch_at(7)
    m, n = exact_sizes(r, 96)
    assert lr.shape == (8, 1, m, m) and hr.shape == (8, 1, n, n)
    lr2, hr2, r2 = PatchBatches(crops, batch=8, mean=0.5, std=0.25, seed=1).batch_at(7)
    assert r2 == r and np.array_equal(lr.numpy(), lr2.numpy()) and np.array_equal(hr.numpy(), hr2.numpy())
    halves = [pb.batch_at(7, rank, 2) for rank in (0, 1)]
    np.testing.assert_array_equal(np.concatenate([h[1].numpy() for h in halves]), hr.numpy())
    # LR is the engine's antialiased downscale of the HR patch, normalised
    from engine.render.bicubic import downscale

    np.testing.assert_allclose(lr[0, 0].numpy(), (downscale(hr[0, 0].numpy(), (m, m)) - 0.5) / 0.25, atol=1e-6)
    # an epoch visits every crop 16 times
    seen = np.concatenate([pb._order(0)])
    assert np.bincount(seen, minlength=5).tolist() == [16] * 5


def test_parse_keep():
    assert parse_keep("0:-20") == slice(0, -20)
    assert parse_keep("-20:") == slice(-20, None)
    assert parse_keep(None) is None


def _write_nifti(path, data, affine=None):
    import nibabel as nib

    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))


def test_nifti_slices_planes_and_holdout(tmp_path):
    data = np.random.default_rng(0).random((20, 30, 40)).astype(np.float32)
    _write_nifti(tmp_path / "v.nii.gz", data)
    vol = read_volume(tmp_path / "v.nii.gz")
    sl = plane_slices(vol, "axial", slice(-5, None))
    # RAS+ voxels shown radiologically: rows anterior -> posterior, columns right -> left
    assert len(sl) == 5 and sl[0].shape == (30, 20)
    np.testing.assert_array_equal(sl[-1], data[::-1, ::-1, -1].T)
    assert len(plane_slices(vol, "sagittal")) == 20 and plane_slices(vol, "sagittal")[0].shape == (40, 30)


@pytest.mark.parametrize("plane, keep", [("axial", "-5:"), ("axial", "0:-5"), ("coronal", "2:6"), ("sagittal", "-3:")])
def test_training_slices_are_the_viewers_display_slices(tmp_path, plane, keep):
    """A DICOM series stored superior to inferior (the voxel order runs against the
    viewer's numbering): the training slices are the display slices, and ``keep``
    counts the viewer's slice numbers."""
    from engine.io import display_slice, n_slices
    from tests.io.dicom_factory import write_series

    k, rows, cols = 12, 10, 14
    stack = (np.arange(k)[:, None, None] * 1000 + np.arange(rows * cols).reshape(1, rows, cols)).astype(np.uint16)
    write_series(tmp_path / "s", stack, orientation=(1.0, 0.0, 0.0, 0.0, -1.0, 0.0))  # normal: inferior
    vol = read_volume(tmp_path / "s")
    n = n_slices(vol, plane)
    picked = range(n)[parse_keep(keep)]
    got = plane_slices(vol, plane, parse_keep(keep))
    assert len(got) == len(picked)
    for i, pixels in zip(picked, got):
        np.testing.assert_array_equal(pixels, display_slice(vol, plane, i).pixels)
    if plane == "axial":  # display slice i counts from inferior: the stored slice k - 1 - i
        assert [int(p.min()) // 1000 for p in got] == [k - 1 - i for i in picked]


def test_training_errors_are_path_errors(tmp_path):
    from engine.errors import PathError
    from engine.io import ScanNotFoundError
    from trainer.checkpoint import CheckpointError
    from trainer.config import ConfigError
    from trainer.retrain import RetrainError
    from trainer.vgg import PerceptualWeightsError

    for cls in (TrainingDataError, CheckpointError, ConfigError, RetrainError, PerceptualWeightsError):
        assert issubclass(cls, PathError)
    with pytest.raises(TrainingDataError) as err:
        brats_files(tmp_path, "t1ce")
    assert err.value.path == tmp_path
    with pytest.raises(ScanNotFoundError):
        read_volume(tmp_path / "missing.nii.gz")


def test_brats_modality_selects_the_file(tmp_path):
    for case in ("BraTS_001", "BraTS_002"):
        (tmp_path / case).mkdir()
        for mod in ("t1", "t1ce", "flair"):
            _write_nifti(tmp_path / case / f"{case}_{mod}.nii.gz", np.zeros((4, 4, 4), np.float32))
    files = brats_files(tmp_path, "t1ce")
    assert [f.name for f in files] == ["BraTS_001_t1ce.nii.gz", "BraTS_002_t1ce.nii.gz"]
    with pytest.raises(TrainingDataError, match="_t2"):
        brats_files(tmp_path, "t2")


def test_image_folder_and_skimage_photographs(tmp_path):
    from PIL import Image

    rgb = (np.random.default_rng(0).random((140, 150, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    crops = load_crops([Source(kind="images", path=str(tmp_path), crop="tiles")], ".", 128)
    assert len(crops) == 1 and crops.images[0].shape == (128, 128)
    photos = load_crops([Source(kind="skimage", crop="tiles", keep="0:2")], ".", 128)
    assert len(photos) >= 2


def test_empty_source_is_a_clear_error(tmp_path):
    _write_nifti(tmp_path / "small.nii", np.zeros((20, 20, 5), np.float32))
    with pytest.raises(TrainingDataError, match="no usable"):
        load_crops([Source(kind="nifti", path=str(tmp_path / "small.nii"))], ".", 128)
