"""Model training: splits, XGBoost and the reference baseline, evaluation, MLflow logging."""
