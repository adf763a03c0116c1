"""What the panes say (no Qt): SR per axis, titles true in every state, quantitative
maps, geometry, colour, and the choices a headless run must have up front."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.io.sources import DicomSource, NiftiSource
from engine.io.volume import SeriesMeta
from viewer.model.choices import ChoiceError, choose, choose_volume
from viewer.model.readout import difference_text, slice_text, zoom_text
from viewer.model.scan_notes import colour_note, has_geometry, quantitative_reason
from viewer.model.sr_policy import AXIS_FLOOR, sr_note, sr_pane_state, sr_scale_for
from viewer.render.frames import sr_frame
from viewer.settings import ReadOnly, Settings

from .fakes import FakeFeatures, RecordingUpscaler


def test_sr_runs_wherever_an_axis_is_enlarged_clamped_into_the_networks_range():
    assert sr_scale_for((1.0, 1.0)) is None and sr_scale_for((0.5, 0.97)) is None
    assert sr_scale_for((3.56, 0.97)) == (3.56, AXIS_FLOOR)  # the coronal of a thick-slice series
    assert sr_scale_for((6.0, 0.5)) == (4.0, AXIS_FLOOR)
    assert sr_scale_for((2.0, 2.5)) == (2.0, 2.5)
    for pair in [(3.56, 0.97), (6.0, 0.5), (1.01, 9.0)]:
        assert all(1.0 < v <= 4.0 for v in sr_scale_for(pair))


def test_a_reformat_with_one_axis_below_x1_gets_an_sr_frame_of_the_right_size():
    up = RecordingUpscaler()
    px = np.random.default_rng(0).random((40, 200), dtype=np.float32)
    feats = FakeFeatures(px.shape, px)
    out, at = sr_frame(up, feats, px.shape, (3.56, 0.97), (0, 0, 142, 194))
    assert at == (3.56, AXIS_FLOOR) and out.shape == (142, 194) and np.isfinite(out).all()


def test_zoom_text_says_what_the_network_did_and_only_on_sr_panes():
    assert zoom_text(2.0, (2.0, 2.0), (2.0, 2.0)) == "x2.00"
    assert zoom_text(6.0, (6.0, 6.0), (4.0, 4.0)) == "x6.00 · SR at x4 + bicubic"
    assert zoom_text(6.0, (6.0, 6.0), (4.0, 4.0), with_sr=False) == "x6.00"
    text = zoom_text(0.97, (3.56, 0.97), sr_scale_for((3.56, 0.97)))
    assert text == "x0.97 (rows x3.56, cols x0.97) · SR at rows x3.56, cols x1.10 + bicubic"
    assert "SR off" not in text
    assert sr_note((0.9, 0.9), None).startswith("no SR")


def test_the_sr_pane_says_when_and_why_it_shows_bicubic():
    assert sr_pane_state(None, True, (2.0, 2.0), True, None) is None
    assert sr_pane_state("loading", False, (2.0, 2.0), True, None) == "Meta-SRGAN loading"
    assert sr_pane_state("unavailable", False, (2.0, 2.0), True, None) == "Meta-SRGAN unavailable"
    assert sr_pane_state(None, True, None, True, None) == "x1 and below"
    assert sr_pane_state(None, True, (2.0, 2.0), False, "a field map in Hz (units Hz)") == "SR off: a field map in Hz (units Hz)"


def test_difference_and_slice_texts():
    assert difference_text(12.5) == "|SR − bicubic| 0 to 12.5" and "W " not in difference_text(1.0)
    assert slice_text("axial", 12, 26, 3.25) == "Axial 13/26 · +3.2 mm"
    assert slice_text("axial", 12, 26, None) == "Axial 13/26"  # no geometry: no mm


def _meta(**kw):
    return SeriesMeta(**kw)


def test_quantitative_maps_are_recognised_by_units_image_type_or_name():
    assert "Hz" in quantitative_reason(_meta(units="Hz"))
    header = SimpleNamespace(ImageType=["DERIVED", "PRIMARY", "ADC", "NONE"])
    assert "ADC" in quantitative_reason(_meta(dicom=DicomSource(headers=(header,))))
    assert "phase" in quantitative_reason(_meta(dicom=DicomSource(headers=(SimpleNamespace(ImageType="ORIGINAL\\PRIMARY\\P\\ND"),))))
    assert "field map" in quantitative_reason(_meta(), ["Philips_WIP_B0_NS_801_e2_fieldmaphz.nii"])
    assert "T1 map" in quantitative_reason(_meta(description="T1 map MOLLI"))
    # ordinary images are not
    assert quantitative_reason(_meta(units="HU", description="Head CT")) is None
    assert quantitative_reason(_meta(description="T1 MPRAGE", dicom=DicomSource(headers=(SimpleNamespace(ImageType=["ORIGINAL", "PRIMARY", "M", "ND"]),)))) is None
    assert quantitative_reason(_meta(description="t1_vibe_fs_tra_post"), ["vs_seg_001_t1_iac.nii.gz"]) is None


def test_geometry_and_colour_notes():
    assert has_geometry(_meta())
    assert not has_geometry(_meta(warnings=["no ImagePositionPatient/ImageOrientationPatient: shown as axial, slices in InstanceNumber order"]))
    assert not has_geometry(_meta(nifti=NiftiSource(None, sform_code=0, qform_code=0)), "nifti")
    assert has_geometry(_meta(nifti=NiftiSource(None, sform_code=0, qform_code=1)), "nifti")
    assert colour_note(_meta(warnings=["colour (RGB) image converted to luminance (grey) values"])) == "colour image shown as grey"
    assert colour_note(_meta()) is None


def test_series_and_volume_choices_are_1_based_and_headless_fails_naming_them():
    series = [SimpleNamespace(description=d, modality="MR", shape=(64, 64, 10), n_files=10) for d in ("T1", "T2", "FLAIR")]
    assert choose(series, 2, None).description == "T2"
    assert choose(series[:1], None, None).description == "T1"
    with pytest.raises(ChoiceError) as e:
        choose(series, None, None)
    assert "--series N" in e.value.reason and "3: FLAIR" in e.value.reason
    with pytest.raises(ChoiceError):
        choose(series, 4, None)
    assert choose(series, None, lambda s: s[2]).description == "FLAIR"
    vol = SimpleNamespace(n_volumes=5)
    assert choose_volume(vol, 5, None) == 4 and choose_volume(SimpleNamespace(n_volumes=1), None, None) == 0
    with pytest.raises(ChoiceError, match="1 to 5"):
        choose_volume(vol, None, None)
    with pytest.raises(ChoiceError):
        choose_volume(vol, 0, None)


def test_read_only_settings_read_the_users_and_write_nothing(tmp_path):
    from PySide6.QtCore import QSettings

    path = tmp_path / "user.ini"
    user = Settings(QSettings(str(path), QSettings.IniFormat))
    user.compare_mode = "swipe"
    user.add_recent(tmp_path / "a.nii")
    user.sync()
    before = path.read_bytes()
    ro = Settings(ReadOnly(QSettings(str(path), QSettings.IniFormat)))
    assert ro.compare_mode == "swipe"
    ro.compare_mode = "difference"
    ro.add_recent(tmp_path / "b.nii")
    ro.set_geometry(b"xyz")
    ro.sync()
    assert ro.compare_mode == "difference"  # this run sees its own choices
    assert path.read_bytes() == before
