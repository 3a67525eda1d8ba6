"""Pure training library: the end classifier, its evaluation, model cards and the
model registry with champion/challenger promotion. No Dagster here; scikit-learn
and matplotlib are imported inside the functions that use them."""
