"""MetaZoom's trainer: Meta-SRGAN (and its baselines) trained as in the paper, evaluated,
and exported in the engine's weights format.  Never imports Qt or the viewer."""
