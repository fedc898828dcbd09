"""TF Serving's core, small: versions on disk (``manager``'s source scan), loading one into a Session
(``servable``), and serving the versions a ``version_policy`` picks, each kept alive while in use
(``manager``). The front ends never touch a Session: they call ``lowtf.serve.predictor``."""
