"""Pictures: filter grids and their evolution as GIFs, training curves, sample grids, confusion matrices."""
