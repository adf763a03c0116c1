"""Help > About: the weights in use, what they were trained on, how well they do;
and a loud warning when they were never trained."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from engine.geometry import parse_scale, parse_scale_key, scale_label
from engine.weights import read_info

from ..model.readable import readable

KEYS_HTML = """
<h3>Mouse</h3>
<table cellpadding=3>
<tr><td><b>Wheel</b></td><td>zoom about the cursor (clinical setting: next/previous slice)</td></tr>
<tr><td><b>Ctrl + wheel</b></td><td>next/previous slice (clinical setting: zoom)</td></tr>
<tr><td><b>Middle drag</b></td><td>pan (left drag too in pan mode, <b>P</b>)</td></tr>
<tr><td><b>Right drag</b></td><td>window: left/right = width, up/down = level</td></tr>
<tr><td><b>Left drag</b> (swipe)</td><td>move the split between bicubic and Meta-SRGAN</td></tr>
</table>
<h3>Keys</h3>
<table cellpadding=3>
<tr><td><b>Up / Down</b> (or Right / Left)</td><td>next / previous slice</td></tr>
<tr><td><b>PgUp / PgDn</b></td><td>5 slices forward / back; <b>Home / End</b> first / last</td></tr>
<tr><td><b>1 / 2 / 3</b></td><td>axial / coronal / sagittal</td></tr>
<tr><td><b>R</b> or <b>Space</b></td><td>reset zoom, pan and window</td></tr>
<tr><td><b>+ / - / 0</b></td><td>zoom in / out / native pixels (x1)</td></tr>
<tr><td><b>A</b></td><td>auto window</td></tr>
<tr><td><b>N</b></td><td>radiological / neurological convention</td></tr>
<tr><td><b>Ctrl+1..4</b></td><td>side by side / single / swipe / difference; <b>B</b> single pane shows bicubic</td></tr>
<tr><td><b>Ctrl+O</b>, <b>Ctrl+E</b>, <b>Ctrl+Shift+S</b></td><td>open, export, screenshot</td></tr>
<tr><td><b>L / Q / E</b>, <b>Esc</b></td><td>ruler / rectangle ROI / ellipse ROI (left drag), navigate; <b>Del</b> clears this slice's, <b>Shift+Del</b> all</td></tr>
<tr><td><b>Left click</b>, <b>X</b></td><td>crosshair point (1/2/3 then keep it); X hides it</td></tr>
<tr><td><b>C</b>, <b>] / [</b></td><td>cine play/pause, faster/slower</td></tr>
<tr><td><b>. / ,</b></td><td>next / previous time point (4D)</td></tr>
<tr><td><b>Ctrl+I</b></td><td>DICOM tags of this image</td></tr>
<tr><td><b>hold M</b></td><td>magnifier: Meta-SRGAN at twice the zoom under the cursor</td></tr>
</table>
"""


def normalisation_text(norm) -> str:
    """How the engine scales a slice before the network, as the sidecar records it."""
    if not isinstance(norm, dict) or not norm:
        return "not recorded"
    bits = [str(norm["intensity"])] if norm.get("intensity") else []
    if "mean" in norm and "std" in norm:
        try:
            bits.append(f"mean {float(norm['mean']):.4g}, std {float(norm['std']):.4g}")
        except (TypeError, ValueError):
            pass
    if norm.get("computed_over"):
        bits.append(f"over {norm['computed_over']}")
    return "; ".join(bits) or json.dumps(norm)


def weights_html(info) -> str:
    """The sidecar in words (``engine.weights.WeightsInfo``)."""
    e = html.escape
    parts = []
    if not info.trained:
        parts.append(
            "<p style='background:#c0392b;color:white;padding:8px;font-weight:bold'>"
            "UNTRAINED WEIGHTS. This file was never trained: the Meta-SRGAN pane shows the network's "
            "initial state (equal to bicubic) and must not be read as enhancement.</p>"
        )
    arch = info.arch
    # the whole digest: a reader checks it against the sidecar or a site's records
    from engine.models import model_name

    parts.append(f"<p><b>Model</b>: {e(model_name(info.path))}</p>")
    parts.append(f"<p><b>File</b>: {e(str(info.path))}<br><b>sha256</b> (tensors): <code>{e(info.sha256)}</code></p>")
    parts.append(f"<p><b>Network</b>: {e(arch.get('name', '?'))} ({readable(arch.get('args', {}))})<br>")
    parts.append(f"<b>Scales</b>: x{info.scale_range[0]:g} to x{info.scale_range[1]:g} (above: SR at x{info.scale_range[1]:g}, then bicubic)<br>")
    parts.append(f"<b>Input normalisation</b>: {e(normalisation_text(info.normalization))}</p>")
    training = dict(info.training)
    data = training.pop("data", None)
    parts.append("<h3>Training</h3><ul>")
    parts.append(f"<li>trained: <b>{'yes' if info.trained else 'NO'}</b></li>")
    if data:
        items = data if isinstance(data, list) else [data]
        parts.append("<li>data:<ul>" + "".join(f"<li>{readable(d)}</li>" for d in items) + "</ul></li>")
    for k, v in training.items():
        if k != "trained":
            parts.append(f"<li>{e(str(k))}: {readable(v)}</li>")
    parts.append("</ul><h3>Validation metrics</h3>")
    metrics = dict(info.metrics)
    held_out = metrics.pop("held_out", None)
    if isinstance(held_out, dict) and held_out:
        parts.append(held_out_table(held_out))
    if metrics:
        parts.append("<ul>" + "".join(f"<li>{e(str(k))}: {readable(v)}</li>" for k, v in metrics.items()) + "</ul>")
    elif not held_out:
        parts.append("<p>none recorded</p>")
    return "".join(parts)


def _zoom_order(key) -> tuple:
    """Square zooms by factor, then per-axis pairs (rows x cols); unreadable keys last."""
    try:
        ry, rx = parse_scale(parse_scale_key(key), sr=False)
    except ValueError:
        return (2, 0.0, 0.0)
    return (int(ry != rx), ry, rx)


def held_out_table(per_scale: dict) -> str:
    """Per zoom factor: Meta-SRGAN's PSNR/SSIM on slices it never saw, beside bicubic's."""
    rows = []
    for scale, m in sorted(per_scale.items(), key=lambda kv: _zoom_order(kv[0])):
        try:
            gain = float(m["psnr"]) - float(m["bicubic_psnr"])
            rows.append(f"<tr><td>{scale_label(scale)}</td><td>{float(m['psnr']):.2f}</td><td>{float(m['bicubic_psnr']):.2f}</td>"
                        f"<td><b>{gain:+.2f}</b></td><td>{float(m['ssim']):.4f}</td><td>{float(m['bicubic_ssim']):.4f}</td></tr>")
        except (KeyError, TypeError, ValueError):  # a hand-edited sidecar: show what parses
            continue
    return ("<p>Held-out slices (never trained on); <i>rows, cols</i> pairs are thick-slice reformats "
            "(the coarser axis slab-averaged where one factor is 1.5x the other or more):</p><table cellpadding=3 border=1 cellspacing=0>"
            "<tr><th>zoom</th><th>PSNR dB</th><th>bicubic</th><th>gain</th><th>SSIM</th><th>bicubic</th></tr>"
            + "".join(rows) + "</table>")


class AboutDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        self.setWindowTitle("About MetaZoom")
        self.resize(640, 560)
        lay = QVBoxLayout(self)
        head = QLabel(
            "<h2>MetaZoom</h2><p>Zoom viewer with live arbitrary-scale Meta-SRGAN super-resolution, "
            "locked beside bicubic.  Research software: not a medical device.</p>"
        )
        head.setWordWrap(True)
        lay.addWidget(head)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        upscaler = win.live.upscaler
        try:
            info = upscaler.info if upscaler is not None else read_info(win.weights_path)
            body = weights_html(info)
            if upscaler is not None:
                backend = getattr(upscaler, "backend", None)
                body += f"<p><b>Running on</b>: {upscaler.device.type.upper()}" + \
                    (f" ({html.escape(backend)})" if backend else "") + "</p>"
        except Exception as e:  # a broken sidecar is itself worth showing here
            body = f"<p style='color:#e74c3c'><b>Weights</b>: {html.escape(str(e))}</p>"
        self.text.setHtml(body)
        lay.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.Close).clicked.connect(self.accept)
        lay.addWidget(buttons)
        self.setAttribute(Qt.WA_DeleteOnClose, False)
