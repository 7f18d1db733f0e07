"""keyframe's built-in checks: one package or module per family, registered in keyframe.registry."""
