"""The engine: data, features, training, evaluation, runs. Nothing here imports Qt."""
