"""Workload: write JSON files, read them back, print a digest."""
import hashlib
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for i in range(20):
    with open(os.path.join(out, f"doc{i}.json"), "w") as f:
        json.dump({"id": i, "squares": [j * j for j in range(i)]}, f)
digest = hashlib.sha256()
for name in sorted(os.listdir(out)):
    with open(os.path.join(out, name)) as f:
        digest.update(json.dumps(json.load(f), sort_keys=True).encode())
print("files", len(os.listdir(out)), digest.hexdigest()[:16])
