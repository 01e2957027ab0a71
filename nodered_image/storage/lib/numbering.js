'use strict';
// Revision numbers are never given twice. One counter document (database.json's revisionCounter:
// {_id: "flows", seq} in `counters`) only ever goes up ($inc, and $max: both MongoDB and DocumentDB have
// them, no transaction needed).
// A number is given only when it is above all of
//   - the highest numbered revision in `flows` (data written before the counter existed, a manual insert),
//   - every revision number a running instance reports in its status record (rev, latestRev, seenRev:
//     the highest it has seen): after a restore of the whole database from an older backup (counter
//     included), live instances still know the numbers given since, and none of them is given again,
//   - the highest number this process has seen.
// The status command's rollback (nodered_status/revisions.py) keeps the same rule (it raises the counter
// first, then steps it); both run the vectors of test/revision_rules.json.
const { singleton } = require('../../common/database');
const { newestRevision } = require('./revision_doc');

const COUNTER_ID = singleton('revisionCounter').id;

async function highestNumbered(flows) {
    const doc = await newestRevision(flows, { _id: 1 });
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

// The next revision number. `seen`: the highest this process knows of; `floorRead`: the floor's reads
// (highest numbered, highest reported) made earlier, when still good (Numbering), else they are made now.
// One round trip in the usual case: the floor is read while the counter takes its step, and the number
// stands when it is above the floor; only a counter found behind (a restore, a manual insert) is raised
// to the floor and stepped again (the number skipped is never given: numbers need not be contiguous).
async function nextRevision({ flows, instances, counters }, seen = 0, floorRead = null) {
    const step = () => withFirstUpsertRetry(() => counters.findOneAndUpdate({ _id: COUNTER_ID }, { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' }));
    const [read, stepped] = await Promise.all([floorRead || readFloor({ flows, instances }), step()]);
    const floor = Math.max(seen || 0, read);
    if (stepped.seq > floor) return stepped.seq;
    await withFirstUpsertRetry(() => counters.updateOne({ _id: COUNTER_ID }, { $max: { seq: floor } }, { upsert: true }));
    return (await step()).seq;
}

async function readFloor({ flows, instances }) {
    const [numbered, reported] = await Promise.all([highestNumbered(flows), highestReported(instances)]);
    return Math.max(numbered, reported);
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

// The editor reads the floor ahead: shortly after a save it reads what the next number must be above, so
// the next deploy only steps the counter before it inserts (one command instead of three: the server
// here answers them one after another). A floor read ahead is used only while nothing since could have
// raised it unseen: the editor's change stream on `flows` stayed open the whole time (a drop, a reopen or
// an outage voids it), and every revision number it has seen since counts as well (a rollback, a restore
// from elsewhere, a second editor during a replacement). A counter found at or below the floor is raised
// as ever. Otherwise, and for the first save, the floor is read at the save as before.
const AHEAD_DELAY_MS = 100; // after a save: out of the way of the workers reading what was just written

class Numbering {
    // following(): an id of the change stream's current open period, or null while it is not open.
    constructor(collections, { following = () => null, isClosed = () => false } = {}) {
        this.c = collections;
        this.following = following;
        this.isClosed = isClosed;
        this.ahead = null; // {period, floor: Promise<number|null>}
        this.timer = null;
    }

    // The number for the revision about to be inserted; `seen`: the highest number this process knows of.
    async next(seen) {
        const ahead = this.ahead;
        this.ahead = null;
        clearTimeout(this.timer);
        let floorRead = null;
        if (ahead && ahead.period !== null) {
            const floor = await ahead.floor;
            if (floor !== null && this.following() === ahead.period) floorRead = Promise.resolve(floor);
        }
        return nextRevision(this.c, seen, floorRead);
    }

    // Reads the floor AHEAD_DELAY_MS from now (a later save starts the wait again).
    readAheadSoon() {
        clearTimeout(this.timer);
        this.ahead = null;
        this.timer = setTimeout(() => {
            this.timer = null;
            const period = this.following();
            if (period === null || this.isClosed()) return;
            const floor = readFloor(this.c).catch(() => null); // a failure: read at the save
            this.ahead = { period, floor };
        }, AHEAD_DELAY_MS);
        this.timer.unref();
    }

    close() {
        clearTimeout(this.timer);
        this.ahead = null;
    }
}

module.exports = { nextRevision, highestNumbered, Numbering, COUNTER_ID };
