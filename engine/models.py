"""The Meta-SRGAN models a user can pick: by name or by a site's own weights file.

``fidelity``: the shipped default (``resources/weights/meta_srgan.safetensors``, trained
for pixel accuracy).  ``perceptual``: the GAN-trained weights
(``resources/weights/meta_srgan_perceptual.safetensors``) when they are shipped.  Any
other text is a path to a site's ``.safetensors`` file.  Exports and About name the
model with ``model_name``, every SR pane's title with ``model_label``
(``META-SRGAN (fidelity)``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import ModelNotShipped
from .weights import BUNDLED

PERCEPTUAL = BUNDLED.with_name("meta_srgan_perceptual.safetensors")
#: Named models and their files, in the order menus list them.
NAMED = {"fidelity": BUNDLED, "perceptual": PERCEPTUAL}


def shipped(name: str) -> bool:
    return NAMED[name].exists()


def resolve_model(choice) -> Path:
    """The weights file of ``fidelity``, ``perceptual`` or a path (str or Path); None:
    fidelity.  A named model that is not shipped raises ``ModelNotShipped`` naming the
    file it looked for."""
    if choice is None:
        return BUNDLED
    text = str(choice).strip()
    key = text.lower()
    if key in NAMED:
        path = NAMED[key]
        if not path.exists():
            raise ModelNotShipped(path, f"the {key} model is not shipped with this installation "
                                        f"(no {path.name} in {path.parent}); use --model fidelity or a weights file")
        return path
    return Path(text).expanduser()


def model_key(path) -> str:
    """``fidelity`` | ``perceptual`` for the shipped files, ``site`` for any other."""
    if path is None:
        return "fidelity"
    p = Path(path)
    for key, f in NAMED.items():
        try:
            if p.resolve() == f.resolve():
                return key
        except OSError:
            continue
    return "site"


@lru_cache(maxsize=32)
def model_label(path) -> str:
    """The model in a word for an SR pane's title: ``fidelity``, ``perceptual``, or the
    site weights file's name (cached: the overlay asks at every wheel step)."""
    key = model_key(path)
    return Path(path).name if key == "site" else key


def model_name(path) -> str:
    """The model in words for titles, provenance and About: ``Meta-SRGAN fidelity``,
    ``Meta-SRGAN perceptual``, or ``Meta-SRGAN (site weights NAME)``."""
    key = model_key(path)
    if key == "site":
        return f"Meta-SRGAN (site weights {Path(path).name})"
    return f"Meta-SRGAN {key}"
