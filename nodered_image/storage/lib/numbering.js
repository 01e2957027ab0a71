'use strict';
// Revision numbers are never given twice. One counter document ({_id: "flows", seq} in `counters`)
// only ever goes up ($inc, and $max: both MongoDB and DocumentDB have them, no transaction needed).
// A number is given only when it is above all of
//   - the highest numbered revision in `flows` (data written before the counter existed, a manual insert),
//   - every revision number a running instance reports in its status record (rev, latestRev, seenRev:
//     the highest it has seen): after a restore of the whole database from an older backup (counter
//     included), live instances still know the numbers given since, and none of them is given again,
//   - the highest number this process has seen.
// The status command's rollback (nodered_status/revisions.py) keeps the same rule (it raises the counter
// first, then steps it).

const COUNTER_ID = 'flows';

async function highestNumbered(flows) {
    const [doc] = await flows.find({ _id: { $type: 'number' } }, { sort: { _id: -1 }, projection: { _id: 1 }, limit: 1 }).toArray();
    return doc ? Math.floor(doc._id) : 0;
}

async function highestReported(instances) {
    const recs = await instances.find({}, { projection: { rev: 1, latestRev: 1, seenRev: 1 } }).toArray();
    let max = 0;
    for (const r of recs) {
        for (const v of [r.rev, r.latestRev, r.seenRev]) if (Number.isSafeInteger(v) && v > max) max = v;
    }
    return max;
}

// The next revision number. `seen`: the highest this process knows of.
// One round trip in the usual case: the floor is read while the counter takes its step, and the number
// stands when it is above the floor; only a counter found behind (a restore, a manual insert) is raised
// to the floor and stepped again (the number skipped is never given: numbers need not be contiguous).
async function nextRevision({ flows, instances, counters }, seen = 0) {
    const step = () => withFirstUpsertRetry(() => counters.findOneAndUpdate({ _id: COUNTER_ID }, { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' }));
    const [numbered, reported, stepped] = await Promise.all([highestNumbered(flows), highestReported(instances), step()]);
    const floor = Math.max(seen || 0, numbered, reported);
    if (stepped.seq > floor) return stepped.seq;
    await withFirstUpsertRetry(() => counters.updateOne({ _id: COUNTER_ID }, { $max: { seq: floor } }, { upsert: true }));
    return (await step()).seq;
}

// Two first-ever upserts at once: one of them gets a duplicate key; the counter exists now.
async function withFirstUpsertRetry(op) {
    for (let attempt = 1; ; attempt++) {
        try {
            return await op();
        } catch (err) {
            if (err.code === 11000 && attempt < 3) continue;
            throw err;
        }
    }
}

module.exports = { nextRevision, highestNumbered, COUNTER_ID };
