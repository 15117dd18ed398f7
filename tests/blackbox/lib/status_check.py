#!/usr/bin/env python3
"""status_check.py STATUS.json MODEL_DIR DATA_DIR [CATALOG]

Checks GET /status's model and data fields against the files they come from,
computed independently here:
  decision_thresholds, gun_shot_min_recall  == model_metadata.json
  threshold_metrics                         == performance_metrics.json
  data.augmentations_per_file               == model_metadata.training_config
  data.classes[c].{train,val,test,training_examples} == counted from split.json
CATALOG (optional) is "c:originals:new,..." for the catalog's counts, or
"none" when the catalog knows no recording of the model's classes yet.
Exits 1 with the differences printed."""
import json, os, sys

st = json.load(open(sys.argv[1]))
mdir = sys.argv[2]
meta = json.load(open(os.path.join(mdir, "model_metadata.json")))
perf = json.load(open(os.path.join(mdir, "performance_metrics.json")))
split = json.load(open(os.path.join(mdir, "split.json")))
bad = []

def same(what, got, want):
    if got != want:
        bad.append(f"{what}: /status has {got!r}, the files say {want!r}")

for k in ("status", "uptime", "total_predictions", "model_loaded", "model_name",
          "training_date", "test_accuracy", "num_classes", "classes"):
    if k not in st:
        bad.append(f"original field {k} missing")
same("decision_thresholds", st.get("decision_thresholds"), meta["decision_thresholds"])
same("gun_shot_min_recall", st.get("gun_shot_min_recall"), meta["gun_shot_min_recall"])
same("threshold_metrics", st.get("threshold_metrics"), perf["threshold_metrics"])
if "gun_shot" in meta["classes"]:
    g = st["threshold_metrics"]["gun_shot"]
    same("gun_shot threshold_metrics threshold", g["threshold"], meta["decision_thresholds"]["gun_shot"])
d = st.get("data") or {}
same("data.augmentations_per_file", d.get("augmentations_per_file"),
     meta["training_config"]["augmentations_per_file"])
want = {}
for f in split["files"]:
    if "error" in f:
        continue
    w = want.setdefault(f["class"], {"train": 0, "val": 0, "test": 0, "training_examples": 0})
    w[f["split"]] += 1
    if f["split"] != "test":
        w["training_examples"] += 1 + len(f.get("augmentations", []))
classes = d.get("classes") or {}
for c in meta["classes"]:
    if c not in classes:
        bad.append(f"data.classes lacks {c}")
for c, w in want.items():
    got = {k: classes.get(c, {}).get(k) for k in w}
    same(f"data.classes.{c} split counts", got, w)
# The split must describe the data directory's files the model saw.
total = sum(w["train"] + w["val"] + w["test"] for w in want.values())
ondisk = sum(len(os.listdir(os.path.join(sys.argv[3], c))) for c in want
             if os.path.isdir(os.path.join(sys.argv[3], c)))
if total > ondisk:
    bad.append(f"split.json counts {total} originals, the data directory holds {ondisk}")
if len(sys.argv) > 4:
    same("data.catalog", d.get("catalog"), True)
    if sys.argv[4] == "none":
        for c in meta["classes"]:
            same(f"data.classes.{c}.originals (empty catalog)", classes[c].get("originals"), None)
    else:
        for spec in sys.argv[4].split(","):
            c, orig, new = spec.split(":")
            same(f"data.classes.{c}.originals", classes.get(c, {}).get("originals"), int(orig))
            same(f"data.classes.{c}.new_since_training", classes.get(c, {}).get("new_since_training"), int(new))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
