"""Pure training library: what the label and train assets run. No Dagster here;
scikit-learn and matplotlib are imported inside the functions that use them.

- `training.train.train_classifier`: one training run of the end classifier (fit, evaluate,
  model card and plots, register, offer for promotion), returning a `TrainingOutcome`.
- `training.label_models`: fit and register the label model, load it, make weak labels.
- `training.classifier.SoftLabelClassifier`: the end model, a scikit-learn estimator.
- `training.registry.ModelRegistry`: named models (`classifier`, `label_model`) in one store.
- `training.warehouse`: the warehouse reads the label and train stages share.
"""
