"""Use cases over models and the IRT engine. Services flush; the caller commits once."""
