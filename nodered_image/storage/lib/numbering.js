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
// first, then steps it); both run the vectors of test/revision_rules.json. The editor numbers most deploys
// from what it read ahead instead, without stepping the counter first (Numbering, below).
const { singleton } = require('../../common/database');
const { newestRevision } = require('./revision_doc');
const { within } = require('../../common/within');

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

// The next revision number, taken the long way. `seen`: the highest this process knows of. One round
// trip in the usual case: the floor is read while the counter takes its step, and the number stands when
// it is above the floor; only a counter found behind (a restore, a manual insert) is raised to the floor
// and stepped again (the number skipped is never given: numbers need not be contiguous).
async function nextRevision({ flows, instances, counters }, seen = 0) {
    const step = () => withFirstUpsertRetry(() => counters.findOneAndUpdate({ _id: COUNTER_ID }, { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' }));
    const [read, stepped] = await Promise.all([readFloor({ flows, instances }), step()]);
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

// The editor numbers a deploy without a write before its insert. Shortly after each save it reads what
// the next number must be above: the floor, and the counter (raised first to that save's number, which
// did not step it). The next deploy takes the number above those and every number it has seen, and
// inserts at once; the insert tells whether the number was free (a duplicate key: another writer took it
// meanwhile, and the number is taken the long way, as the first save's is). So a deploy writes nothing
// before its insert (on DocumentDB a quorum write; on the local stand-in every write also wakes every
// change stream, the workers' included, just as they are about to load the deploy), and numbers stay
// contiguous (two deploys and a rollback are revisions 1, 2 and 3).
// What was read ahead is used only while nothing since could have raised the floor unseen: the editor's
// change stream on `flows` stayed open the whole time (a drop, a reopen or an outage voids it), and every
// number it has seen since counts as well (a rollback, a restore from elsewhere, a second editor). The
// counter lags such a deploy by AHEAD_DELAY_MS at most: a writer taking a number meanwhile raises the
// counter above the newest numbered revision first, and the deploy is that one; a stopping editor
// raises it before it goes.
const AHEAD_DELAY_MS = 100; // after a save: out of the way of the workers reading what was just written
const CLOSE_WAIT_MS = 1000; // the longest a stopping editor waits to raise the counter

class Numbering {
    // following(): an id of the change stream's current open period, or null while it is not open.
    constructor(collections, { following = () => null, isClosed = () => false } = {}) {
        this.c = collections;
        this.following = following;
        this.isClosed = isClosed;
        this.ahead = null; // {period, above: Promise<number|null>}: what the next number must be above
        this.unraised = null; // the highest number saved without a step of the counter, not raised to yet
        this.timer = null;
    }

    // The number for the revision about to be inserted, {rev, counted} (counted: the counter gave it);
    // `seen`: the highest number this process knows of.
    async next(seen) {
        const ahead = this.ahead;
        this.ahead = null;
        clearTimeout(this.timer);
        this.timer = null;
        if (ahead) {
            const above = await ahead.above;
            if (above !== null && this.following() === ahead.period) return { rev: Math.max(above, seen || 0) + 1, counted: false };
        }
        const rev = await nextRevision(this.c, seen);
        this.unraised = null; // the counter went above everything this process has seen
        return { rev, counted: true };
    }

    // Revision `rev` was inserted (counted: its number came from the counter): AHEAD_DELAY_MS from now
    // the counter is raised to it and what the next number must be above is read (a later save starts the
    // wait again).
    saved(rev, counted) {
        if (!counted) this.unraised = Math.max(this.unraised || 0, rev);
        clearTimeout(this.timer);
        this.ahead = null;
        this.timer = setTimeout(() => {
            this.timer = null;
            if (this.isClosed()) return;
            const counter = this.raise();
            counter.catch(() => {}); // raised at the next save's long way, or at close
            const period = this.following();
            if (period === null) return; // not following: the next number is taken the long way
            const above = Promise.all([readFloor(this.c), counter]).then(([floor, seq]) => Math.max(floor, seq));
            this.ahead = { period, above: above.catch(() => null) }; // a failure: taken the long way
        }, AHEAD_DELAY_MS);
        this.timer.unref();
    }

    // Raises the counter to the numbers saved without a step of it; resolves with the counter's value.
    async raise() {
        const rev = this.unraised;
        const { counters } = this.c;
        if (rev === null) {
            const doc = await counters.findOne({ _id: COUNTER_ID });
            return doc && Number.isFinite(doc.seq) ? doc.seq : 0;
        }
        const doc = await withFirstUpsertRetry(() => counters.findOneAndUpdate({ _id: COUNTER_ID }, { $max: { seq: rev } },
            { upsert: true, returnDocument: 'after' }));
        if (this.unraised === rev) this.unraised = null;
        return Number.isFinite(doc.seq) ? doc.seq : rev;
    }

    // Stops reading ahead; a number saved without a step of the counter is raised to first.
    async close() {
        clearTimeout(this.timer);
        this.timer = null;
        this.ahead = null;
        if (this.unraised === null) return;
        await within(this.raise().catch(() => {}), CLOSE_WAIT_MS);
    }
}

module.exports = { nextRevision, highestNumbered, Numbering, COUNTER_ID };
