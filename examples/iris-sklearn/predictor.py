"""Serves the iris LogisticRegression trained by train.py.

The payload is the four measurements in centimetres, either as a list
`[sepal_length, sepal_width, petal_length, petal_width]` or as an object with those keys.
The answer is the species name.
"""

import os
import pickle

SPECIES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class PythonPredictor:
    def __init__(self, config):
        model_file = config.get("model", "model.pkl")
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), model_file)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} does not exist; run `python train.py` first")
        with open(path, "rb") as file:
            self.model = pickle.load(file)
        print(f"iris model loaded from {model_file}")

    def predict(self, payload):
        species_index = self.model.predict([_measurements(payload)])[0]
        return SPECIES[species_index]

    def predict_batch(self, payloads):
        """Used with `server_side_batching`: one vectorised model call for the whole batch."""
        species_indices = self.model.predict([_measurements(payload) for payload in payloads])
        return [SPECIES[index] for index in species_indices]


def _measurements(payload):
    if isinstance(payload, dict):
        measurements = [float(payload[name]) for name in FEATURES]
    else:
        measurements = [float(value) for value in payload]
    if len(measurements) != len(FEATURES):
        raise ValueError(f"expected 4 measurements ({', '.join(FEATURES)}), got {len(measurements)}")
    return measurements
