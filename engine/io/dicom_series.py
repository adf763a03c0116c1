"""Group DICOM slices into series and work out each series' geometry.

A series is the slices sharing SeriesInstanceUID, orientation, size, pixel
spacing, echo and image type (magnitude/phase/field map).  Slices are sorted by
ImagePositionPatient projected on the slice normal (InstanceNumber when there is
no geometry); several slices at one position are repeats in time (4D), ordered
by temporal position, acquisition and instance number.  The affine maps voxel
(i = column, j = row, k = slice) to RAS+ mm: DICOM's LPS with x and y negated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dicom_header import DicomFile, Slice, get, number, text
from .volume import SeriesInfo

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: Slices closer than this along the normal (mm) share a position (4D repeats).
_SAME_POSITION_MM = 0.01
_SAME_ORIENTATION = 1e-3


@dataclass
class DicomSeries:
    """Reader-private description of one series (``SeriesInfo.key``)."""

    uid: str
    volumes: list[list[Slice]]  # volumes[t][k]
    affine: np.ndarray  # 4x4, voxel -> RAS+ mm
    warnings: list[str] = field(default_factory=list)
    description: str = ""
    modality: str = ""
    number: int = 0
    #: what tells this series apart from the others of its SeriesInstanceUID ("" when it is the only one)
    part: str = ""
    part_index: int = 0
    #: the slices are not evenly spaced (missing slices, uneven spacing): the regular affine
    #: only approximates where each lies, so export refuses to reformat it
    irregular_stack: bool = False

    @property
    def first(self) -> Slice:
        return self.volumes[0][0]

    @property
    def shape(self) -> tuple[int, ...]:
        s = self.first
        base = (s.cols, s.rows, len(self.volumes[0]))
        return base + ((len(self.volumes),) if len(self.volumes) > 1 else ())

    @property
    def files(self) -> list[DicomFile]:
        seen, out = set(), []
        for vol in self.volumes:
            for s in vol:
                if id(s.file) not in seen:
                    seen.add(id(s.file))
                    out.append(s.file)
        return out

    def info(self) -> SeriesInfo:
        files = self.files
        return SeriesInfo(
            kind="dicom",
            paths=sorted({f.path for f in files}),
            description=self.description,
            modality=self.modality,
            shape=self.shape,
            n_files=len(files),
            uid=self.uid,
            key=self,
            warnings=list(self.warnings),
        )


def _geometric(s: Slice) -> bool:
    return s.position is not None and s.orientation is not None


def group(files: list[DicomFile]) -> list[DicomSeries]:
    """All series in these files, ordered by series number then description."""
    buckets: dict[tuple, list[list[Slice]]] = defaultdict(list)
    for f in files:
        uid = f.series_uid or f"(no SeriesInstanceUID) {f.path.parent}"
        for s in f.slices:
            sp = tuple(round(v, 4) for v in s.pixel_spacing) if s.pixel_spacing else None
            key = (uid, s.rows, s.cols, sp, s.echo, s.image_type, _geometric(s))
            clusters = buckets[key]
            for c in clusters:  # same orientation within tolerance
                o = c[0].orientation
                if (o is None and s.orientation is None) or (
                    o is not None and s.orientation is not None and np.max(np.abs(o - s.orientation)) < _SAME_ORIENTATION
                ):
                    c.append(s)
                    break
            else:
                clusters.append([s])

    by_uid: dict[str, list[tuple[tuple, list[Slice]]]] = defaultdict(list)
    for key, clusters in buckets.items():
        for c in clusters:
            by_uid[key[0]].append((key, c))

    series = []
    for uid, parts in by_uid.items():
        for n, (key, slices) in enumerate(parts):
            s = _assemble(uid, slices)
            s.description = _describe(s, key, n, parts)
            if len(parts) > 1:
                s.part, s.part_index = s.description.rsplit(" [", 1)[-1].rstrip("]"), n
            series.append(s)
    series.sort(key=lambda s: (s.number, s.description, s.uid))
    return series


def _describe(series: DicomSeries, key: tuple, n: int, parts: list) -> str:
    """Series description, plus what tells apart the parts of one SeriesInstanceUID."""
    hdr = series.first.file.header
    base = text(hdr, "SeriesDescription") or text(hdr, "ProtocolName") or series.first.file.path.parent.name
    if len(parts) == 1:
        return base
    tags = []
    keys = [k for k, _ in parts]
    if len({k[4] for k in keys}) > 1 and key[4]:
        tags.append(key[4] if key[4].startswith("TE") else f"echo {key[4]}")
    if len({k[5] for k in keys}) > 1 and key[5]:
        tags.append(key[5])
    if len({k[1:3] for k in keys}) > 1:
        tags.append(f"{key[2]}x{key[1]}")
    same_key = [i for i, (k, _) in enumerate(parts) if k == key]
    if len(same_key) > 1:
        tags.append(f"orientation {same_key.index(n) + 1}")
    return f"{base} [{', '.join(tags)}]" if tags else f"{base} [part {n + 1}]"


def _assemble(uid: str, slices: list[Slice]) -> DicomSeries:
    warnings: list[str] = []
    hdr = slices[0].file.header
    if _geometric(slices[0]):
        volumes = _by_position(slices, warnings)
    else:
        volumes = [sorted(slices, key=lambda s: (s.instance if s.instance is not None else 0, s.order, str(s.file.path)))]
    affine, irregular = _affine(volumes[0], warnings)
    for f in {id(s.file): s.file for s in slices}.values():
        warnings.extend(f.notes)
    return DicomSeries(
        uid=uid,
        volumes=volumes,
        affine=affine,
        warnings=list(dict.fromkeys(warnings)),
        modality=text(hdr, "Modality"),
        number=number(hdr, "SeriesNumber", 0, kind=int),
        irregular_stack=irregular,
    )


def _by_position(slices: list[Slice], warnings: list[str]) -> list[list[Slice]]:
    normal = slices[0].normal
    d = np.array([float(np.dot(s.position, normal)) for s in slices])
    order = np.argsort(d, kind="stable")
    clusters: list[list[Slice]] = []
    start = None
    for i in order:
        if start is None or d[i] - start > _SAME_POSITION_MM:
            clusters.append([])
            start = d[i]
        clusters[-1].append(slices[i])
    clusters = _without_outliers(clusters, normal, warnings)
    counts = [len(c) for c in clusters]
    n_vol = min(counts)
    if max(counts) != n_vol:
        warnings.append(
            f"positions hold unequal numbers of images ({n_vol} to {max(counts)}); "
            f"kept {n_vol} volume(s), {sum(counts) - n_vol * len(clusters)} image(s) left out"
        )
    for c in clusters:
        c.sort(key=lambda s: (s.order, str(s.file.path)))
    return [[c[t] for c in clusters] for t in range(n_vol)]


#: A position at an end of the stack this many median steps (and at least
#: ``_OUTLIER_MIN_MM``) from its neighbour is not part of the stack.
_OUTLIER_STEPS = 20
_OUTLIER_MIN_MM = 50.0


def _without_outliers(clusters: list[list[Slice]], normal, warnings: list[str]) -> list[list[Slice]]:
    """Drop a position at either end of the stack that lies far beyond the others
    (a damaged or foreign ImagePositionPatient): it would stretch the volume's
    geometry over a huge empty span.  Said in the warnings."""
    while len(clusters) >= 3:
        d = np.array([float(np.dot(c[0].position, normal)) for c in clusters])
        steps = np.diff(d)
        med = float(np.median(steps))
        limit = max(_OUTLIER_STEPS * med, _OUTLIER_MIN_MM)
        if steps[0] > limit:
            gone, clusters = clusters[0], clusters[1:]
        elif steps[-1] > limit:
            gone, clusters = clusters[-1], clusters[:-1]
        else:
            break
        names = ", ".join(sorted({s.file.path.name for s in gone})[:3])
        warnings.append(
            f"{len(gone)} image(s) ({names}) lie {max(steps[0], steps[-1]):.4g} mm beyond the rest of the stack, "
            f"where slices are {med:.4g} mm apart: left out"
        )
    return clusters


def _affine(volume: list[Slice], warnings: list[str]) -> tuple[np.ndarray, bool]:
    """The voxel -> RAS+ affine, and whether the stack is irregular (not evenly spaced)."""
    first = volume[0]
    a = np.eye(4)
    if first.pixel_spacing is None:
        warnings.append("no PixelSpacing: 1 mm pixels assumed")
        ps_rows, ps_cols = 1.0, 1.0
    else:
        ps_rows, ps_cols = first.pixel_spacing
    if not _geometric(first):
        warnings.append("no ImagePositionPatient/ImageOrientationPatient: shown as axial, slices in InstanceNumber order")
        gap = first.gap or 1.0
        a[:3, :3] = np.diag([ps_cols, ps_rows, gap])
        return LPS_TO_RAS @ a, False
    row_dir, col_dir = first.orientation[:3], first.orientation[3:]
    normal = first.normal
    a[:3, 0] = row_dir * ps_cols  # i runs along a row (column index)
    a[:3, 1] = col_dir * ps_rows  # j runs down a column (row index)
    a[:3, 3] = first.position
    n = len(volume)
    if n == 1:
        a[:3, 2] = normal * (first.gap or 1.0)
        return LPS_TO_RAS @ a, False
    pos = np.array([s.position for s in volume])
    d = pos @ normal
    steps = np.diff(d)
    med = float(np.median(steps))
    span = pos[-1] - pos[0]
    uneven = np.abs(steps - med) > 0.01 * med + 1e-3
    if uneven.any():
        gaps = np.rint(steps / med).astype(int)
        missing = int(np.sum(np.maximum(gaps - 1, 0)))
        if missing:
            warnings.append(
                f"about {missing} slice(s) missing: gaps up to {steps.max():.4g} mm where slices are {med:.4g} mm apart"
            )
        else:
            warnings.append(f"uneven slice spacing ({steps.min():.4g} to {steps.max():.4g} mm); shown at {med:.4g} mm")
        a[:3, 2] = span / np.linalg.norm(span) * med
    else:
        a[:3, 2] = span / (n - 1)
    cos = float(np.dot(a[:3, 2], normal) / np.linalg.norm(a[:3, 2]))
    if cos < np.cos(np.deg2rad(0.5)):
        warnings.append(
            f"slices are offset along the image plane (gantry tilt {np.rad2deg(np.arccos(min(cos, 1.0))):.1f} deg): "
            "the affine is sheared, no resampling"
        )
    return LPS_TO_RAS @ a, bool(uneven.any())


def series_warnings_for_skipped(series: list[DicomSeries], skipped: list[tuple[Path, str, str]]) -> None:
    """Attach 'file skipped' notices to the series those files claimed to belong to."""
    by_uid = defaultdict(list)
    for path, uid, reason in skipped:
        if uid:
            by_uid[uid].append(f"{path.name} skipped: {reason}")
    for s in series:
        s.warnings.extend(by_uid.get(s.uid, []))


def frame_of_reference(files: list[DicomFile]) -> str:
    for f in files:
        v = text(f.header, "FrameOfReferenceUID")
        if v:
            return v
    return ""


def has_modality_lut(f: DicomFile) -> bool:
    return get(f.header, "ModalityLUTSequence") is not None
