"""Export SavedModels and serve them over TF Serving's REST API."""
