"""Workload: a thread pool hashing files (concurrent.futures)."""
import concurrent.futures
import hashlib
import os
import sys

directory = sys.argv[1]
os.makedirs(directory, exist_ok=True)
paths = []
for i in range(16):
    path = os.path.join(directory, f"blob{i}")
    with open(path, "wb") as f:
        f.write(bytes([i]) * (4096 * (i + 1)))
    paths.append(path)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:8]


with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(digest, paths))
print("hashed", len(results), results[0], results[-1])
