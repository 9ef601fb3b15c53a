"""Train a breast-cancer classifier, register it with mlgate and write metrics.json (run: python train.py)."""

import json
import os

import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate

# `mlgate run --smoke` (pull requests) hands over params.yaml with its smoke: overrides merged in
params_file = os.environ.get("MLGATE_PARAMS_FILE", "params.yaml")
with open(params_file) as fh:
    params = yaml.safe_load(fh)["train"]
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X, y = train.drop(columns=["target"]), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
model.fit(X, y)
mv = mlgate.log_model(
    model,
    "breast-cancer",
    sample_input=X.head(5),
    data=["data/train.csv"],
    params=params_file,
    tags={"trainer": "train.py"},
)
accuracy = float((model.predict(test.drop(columns=["target"])) == test["target"]).mean())
with open("metrics.json", "w") as fh:
    json.dump({"accuracy": round(accuracy, 6), "train_rows": len(train)}, fh, indent=2)
print(f"registered {mv.ref} {mv.semver} {mv.digest}; test accuracy {accuracy:.4f}")
