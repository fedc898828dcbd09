"""Practice: exercises checked by pytest (``lowtf exercise NN``, ``lowtf check NN``) and lessons as notebooks."""
