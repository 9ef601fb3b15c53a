"""Model CI: gates that compare a candidate with the champion on the same rows."""
