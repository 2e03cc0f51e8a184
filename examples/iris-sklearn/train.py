"""Trains the iris classifier and writes model.pkl next to this file.

Run with an interpreter that has scikit-learn, e.g. `/usr/bin/python3 train.py`.
"""

import pickle
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main() -> None:
    features, labels = load_iris(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=0.2, random_state=0, stratify=labels
    )
    model = LogisticRegression(max_iter=1000).fit(train_x, train_y)
    accuracy = model.score(test_x, test_y)
    out = Path(__file__).resolve().with_name("model.pkl")
    with open(out, "wb") as file:
        pickle.dump(model, file)
    print(f"wrote {out} (test accuracy {accuracy:.3f})")


if __name__ == "__main__":
    main()
