"""Workload: sqlite3 on a file: create, insert in a transaction, query."""
import os
import sqlite3
import sys

os.makedirs(sys.argv[1], exist_ok=True)
path = os.path.join(sys.argv[1], "jobs.db")
db = sqlite3.connect(path)
db.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
with db:
    db.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)",
                   ((i, f"value-{i}") for i in range(500)))
count, total = db.execute("SELECT count(*), sum(k) FROM t").fetchone()
db.close()
print("rows", count, total)
