"""1D and 3D convolutions on real signals and volumes (notebook 10)."""
