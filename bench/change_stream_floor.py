"""The database server's own share of a deploy: an insert (w: majority) into a collection that change
streams of several clients follow, timed from the insert being sent until every stream delivered it. It is
what any deploy through this server pays at least (the editor writes the revision, each worker's change
stream delivers it), measured by pymongo, one client per watcher as each worker has its own."""

from __future__ import annotations

import threading
import time
import uuid

import pymongo
from pymongo.write_concern import WriteConcern

# As the workers' follower: a change is delivered at once whatever this is; it only bounds how long
# closing a watcher waits for its pending getMore.
WAIT_MS = 1000


class ChangeStreamFloor:
    """`watchers` threads, each with its own client and change stream on one collection; probe(doc) inserts
    doc and returns the seconds until all of them received it."""

    # Its own database, with a collection named as the stack's revisions are: the same kind of write.
    COLLECTION = "flows"

    def __init__(self, mongo_url: str, watchers: int = 3):
        self.url = mongo_url
        self.watchers = watchers
        self.db_name = f"bench_stream_{uuid.uuid4().hex[:8]}"
        self.client: pymongo.MongoClient = pymongo.MongoClient(mongo_url)
        self.coll = self.client[self.db_name].get_collection(self.COLLECTION, write_concern=WriteConcern(w="majority"))
        self.seen: dict[int, list[float]] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.seq = 0

    def __enter__(self) -> ChangeStreamFloor:
        self.coll.insert_one({"_id": 0})  # the collection exists before the streams open
        opened = threading.Barrier(self.watchers + 1)
        for _ in range(self.watchers):
            t = threading.Thread(target=self._watch, args=(opened,), daemon=True)
            t.start()
            self.threads.append(t)
        opened.wait(timeout=30)
        return self

    def _watch(self, opened: threading.Barrier) -> None:
        client: pymongo.MongoClient = pymongo.MongoClient(self.url)
        try:
            with client[self.db_name][self.COLLECTION].watch(max_await_time_ms=WAIT_MS) as stream:
                opened.wait(timeout=30)  # watch() opened the server's cursor: nothing after this is missed
                while not self.stop.is_set():
                    change = stream.try_next()
                    if change is None or change["operationType"] != "insert":
                        continue
                    at = time.perf_counter()
                    with self.cond:
                        self.seen.setdefault(change["documentKey"]["_id"], []).append(at)
                        self.cond.notify_all()
        finally:
            client.close()

    def probe(self, doc: dict, timeout: float = 10.0) -> float | None:
        """Seconds from sending the insert until every watcher received it (None: one did not in time)."""
        self.seq += 1
        seq = self.seq
        t0 = time.perf_counter()
        self.coll.insert_one({**doc, "_id": seq})
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.seen.get(seq, [])) >= self.watchers, timeout=timeout):
                return None
            return max(self.seen.pop(seq)) - t0

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=WAIT_MS / 1000 + 5)
        self.client.drop_database(self.db_name)
        self.client.close()
