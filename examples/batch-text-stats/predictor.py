"""A Cortex 0.20 batch predictor: counts the words and characters of each text of a batch and
writes one JSON file per batch (Cortex's batch predictors wrote results wherever they liked,
usually S3; a local folder keeps this example offline).

Where: ``<results_dir>/<job_id>/`` when the config names a ``results_dir``, else the job's output
folder, ``$AXON_JOB_OUTPUT_DIR`` (``$AXON_HOME/batch/<api>/<job_id>``): on the local engine a
sandboxed predictor may write nowhere else on the machine.

Job config (merged over ``predictor.config``, the job's keys win):
  results_dir       where the results go (default: the job's output folder)
  seconds_per_batch sleep that long in each batch (to watch a job run, or to kill a worker mid-job)
  fail_on           raise ValueError for a batch holding this item (to see retries and failures)
"""

import json
import os
import time


class PythonPredictor:
    def __init__(self, config, job_spec):
        self.job_id = job_spec["job_id"]
        if config.get("results_dir"):
            self.out = os.path.join(config["results_dir"], self.job_id)
        else:
            self.out = os.environ["AXON_JOB_OUTPUT_DIR"]
        os.makedirs(self.out, exist_ok=True)
        self.seconds = float(config.get("seconds_per_batch", 0))
        self.fail_on = config.get("fail_on")

    def predict(self, payload, batch_id):
        if self.fail_on is not None and self.fail_on in payload:
            raise ValueError(f"refusing item {self.fail_on!r}")
        if self.seconds > 0:
            time.sleep(self.seconds)
        stats = [{"text": text, "words": len(str(text).split()), "chars": len(str(text))} for text in payload]
        # Written whole or not at all: a worker killed mid-write leaves no half file.
        tmp = os.path.join(self.out, f".{batch_id}.tmp")
        with open(tmp, "w", encoding="utf-8") as file:
            json.dump(stats, file)
        os.replace(tmp, os.path.join(self.out, f"{batch_id}.json"))
        with open(os.path.join(self.out, "batches.log"), "a", encoding="utf-8") as log:
            log.write(f"{batch_id}\n")

    def on_job_complete(self):
        done = sorted(name for name in os.listdir(self.out) if name.endswith(".json"))
        with open(os.path.join(self.out, "summary.json"), "w", encoding="utf-8") as file:
            json.dump({"job_id": self.job_id, "batches": len(done)}, file)
