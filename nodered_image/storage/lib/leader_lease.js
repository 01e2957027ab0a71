'use strict';
// One leader for the whole stack, elected through the database: it runs the run-once tabs (tabs.js).
// The lease is one document (database.json's leaderLease singleton, in `leases`):
//   {_id: "flows-leader", holder: <instance id> | null, role, term, beat, acquiredAt, renewedAt, expiresAt, releasedAt}
// `term` grows by one per new holder; the holder adds one to `beat` every renewSeconds; releasedAt is
// set while the lease is free because its holder released it (or nobody ever held it).
//
// No two instances' clocks are ever compared, so clock skew between them cannot make two leaders.
// Each instance measures time only on its own monotonic clock:
//  - the holder counts its lease from the moment it *sent* its last successful renewal (the write
//    landed after that), and stops running the tabs leaseSeconds - stopMarginSeconds later unless a
//    newer renewal succeeded (so a holder cut off from the database steps down on its own);
//  - another instance takes the lease over only after it has seen the same (holder, term, beat) for
//    leaseSeconds, counted from when its read of it returned (so after that beat was written), with a
//    compare-and-set on exactly that (holder, term, beat): a renewal in between makes it fail.
// So the old holder has stopped by (its send time + lease - margin) < (the beat's write + lease) <=
// the takeover. What is left: the two monotonic clocks' rate difference over one lease (parts per
// million: microseconds), and a holder whose process is frozen (GC pause, SIGSTOP, a stalled VM)
// past its deadline, which may run a due timer of a run-once tab before it notices on resuming and
// stops the tab (at once: stopping needs no database). A takeover waits at most leaseSeconds +
// 2 x checkSeconds after the holder's last renewal; a holder that stops gracefully releases the lease
// and the next instance takes it within checkSeconds.
//
// A lease is taken at once only when it was released (releasedAt), or when it is exactly what this
// process last wrote (its term and beat, or a later beat of its renewals that went unanswered): it
// stepped down for want of a renewal and nobody took over meanwhile. Any other lease (one in this
// instance's name that this process did not take, as its previous process's; one edited, emptied or
// restored by hand, an older copy included) is waited out like a silent holder's: an edit never makes
// two instances lead, since whoever led before stops at its next renewal, which fails, long before the
// lease can be taken over.
//
// acquiredAt and renewedAt are the database's clock ($currentDate); expiresAt is when the lease lapses
// unless renewed, in the database's clock as the holder estimates it from renewedAt: for people and
// the status command, never used by the election.
const { performance } = require('perf_hooks');
const { singleton } = require('../../common/database');
const { within } = require('../../common/within');

const LEASE_ID = singleton('leaderLease').id;
const mono = () => performance.now();

class LeaderLease {
    // coll: `leases` with database.json's write concern, majority (a write a failover could lose would let a
    // second instance lead); clock: this instance's wall clock (Date.now), read only for expiresAt.
    constructor({ coll, opts, log, onChange, clock = Date.now }) {
        this.coll = coll;
        this.clock = clock;
        this.opts = opts;
        this.log = log;
        this.onChange = onChange || (() => {});
        this.leaseMs = opts.leaderLeaseSeconds * 1000;
        this.leader = false;
        this.term = null; // the term this process took and has not seen lost (leading or not)
        this.beat = 0; // the beat of that term this process last wrote
        this.unanswered = 0; // renewals sent since, whose answers never came (they may have landed)
        this.validUntil = 0; // monotonic ms: stop leading by then unless renewed
        this.seen = null; // {key, at}: the lease as last read, and since when unchanged
        this.dbOffsetMs = 0; // database clock - this instance's wall clock (for expiresAt only)
        this.failing = false;
        this.timer = null;
        this.deadline = null;
        this.closed = false;
        this.running = null;
    }

    // First attempt now (an instance that finds the lease free leads before its flows first start).
    async start() {
        await this.tick();
    }

    info() {
        return { leader: this.leader, term: this.leader ? this.term : null };
    }

    isLeading() {
        return this.leader;
    }

    schedule() {
        if (this.closed) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.tick(), this.leader ? this.opts.leaderRenewSeconds * 1000 : this.nextCheckMs());
        this.timer.unref();
    }

    // A non-leader reads the lease every 2 x checkSeconds while its beat moves (renewals come more often
    // than that), and, once a read finds it unchanged, again when it has been unchanged for leaseSeconds.
    // A takeover still comes at most leaseSeconds + 2 x checkSeconds after the last renewal (the first
    // read of that beat is at most 2 x checkSeconds after it), with half the reads of a fixed interval:
    // an idle instance's cost.
    nextCheckMs() {
        const every = 2 * this.opts.leaderCheckSeconds * 1000;
        if (!this.seen || !this.seen.again) return every;
        return Math.min(every, Math.max(0, this.seen.at + this.leaseMs - mono()) + 2);
    }

    async tick() {
        if (this.closed || this.running) return;
        this.running = (this.leader ? this.renew() : this.challenge())
            .catch((err) => {
                if (!this.failing) this.log.warn(`leader lease: ${err.message}; retrying`);
                this.failing = true;
            })
            .finally(() => {
                this.running = null;
                this.schedule();
            });
        await this.running;
    }

    dbNow() {
        return this.clock() + this.dbOffsetMs;
    }

    // The database's clock from a renewedAt it just wrote, against this instance's wall clock.
    learnClock(doc, wallSent) {
        if (doc && doc.renewedAt instanceof Date) this.dbOffsetMs = doc.renewedAt.getTime() - (wallSent + this.clock()) / 2;
    }

    async challenge() {
        const doc = await this.coll.findOne({ _id: LEASE_ID });
        const now = mono();
        this.failing = false;
        if (!doc) {
            // Nobody ever led: create the free lease (another instance may just have), then take it.
            const free = { _id: LEASE_ID, holder: null, role: null, term: 0, beat: 0, releasedAt: new Date(this.dbNow()) };
            await this.coll.insertOne(free)
                .catch((err) => {
                    if (err.code !== 11000) throw err;
                });
            return this.challenge();
        }
        const key = JSON.stringify([doc.holder ?? null, doc.term ?? 0, doc.beat ?? 0]);
        const free = doc.holder === null || doc.holder === undefined;
        if (free && doc.releasedAt) return this.take(doc, 'the lease was free');
        // Ours: this process stepped down without losing it.
        if (this.wrote(doc)) return this.take(doc, 'it was still this instance\'s');
        this.term = null;
        if (!this.seen || this.seen.key !== key) {
            this.seen = { key, at: now, again: false };
            return undefined;
        }
        this.seen.again = true;
        if (now - this.seen.at < this.leaseMs) return undefined;
        const s = this.opts.leaderLeaseSeconds;
        if (free) return this.take(doc, `the lease was emptied without a release and stayed so for ${s} s`);
        if (doc.holder === this.opts.instanceId) return this.take(doc, `this instance's term ${doc.term}, not taken by this process, was not renewed for ${s} s`);
        return this.take(doc, `${doc.holder} did not renew it for ${s} s`);
    }

    // Whether the lease is as this process last wrote it.
    wrote(doc) {
        const beat = doc.beat ?? 0;
        return this.term !== null && doc.holder === this.opts.instanceId && doc.term === this.term &&
            beat >= this.beat && beat <= this.beat + this.unanswered;
    }

    async take(doc, why) {
        const sentAt = mono();
        const wallSent = this.clock();
        const taken = await this.coll.findOneAndUpdate(
            { _id: LEASE_ID, holder: doc.holder ?? null, term: doc.term ?? 0, beat: doc.beat ?? 0 },
            {
                $set: { holder: this.opts.instanceId, role: this.opts.role, beat: 0, expiresAt: new Date(this.dbNow() + this.leaseMs) },
                $unset: { releasedAt: '' },
                $inc: { term: 1 },
                $currentDate: { acquiredAt: true, renewedAt: true },
            },
            { returnDocument: 'after' },
        );
        this.seen = null;
        if (!taken) return; // another instance was first, or the holder renewed meanwhile
        this.learnClock(taken, wallSent);
        this.term = taken.term;
        this.beat = taken.beat;
        this.unanswered = 0;
        // An answer too late to lead on: the lease is ours, the next check takes it again.
        this.extend(sentAt);
        this.lead(why);
    }

    // Leads while the lease is valid (extend()): after a take, or a renewal that landed after this
    // instance had stepped down for want of it (the lease stayed its own all along).
    lead(why) {
        if (this.leader || mono() >= this.validUntil) return;
        this.log.info(`leading the stack (term ${this.term}): ${why}`);
        this.setLeader(true);
    }

    async renew() {
        const sentAt = mono();
        const wallSent = this.clock();
        this.unanswered += 1;
        const renewed = await this.coll.findOneAndUpdate(
            { _id: LEASE_ID, holder: this.opts.instanceId, term: this.term },
            { $inc: { beat: 1 }, $set: { expiresAt: new Date(this.dbNow() + this.leaseMs) }, $currentDate: { renewedAt: true } },
            { returnDocument: 'after' },
        );
        if (this.closed) return;
        if (!renewed) {
            this.stepDown('another instance holds the lease');
            this.term = null;
            return;
        }
        if (this.failing) this.log.info('leader lease renewed again');
        this.failing = false;
        this.learnClock(renewed, wallSent);
        this.beat = renewed.beat;
        this.unanswered = 0;
        this.extend(sentAt);
        this.lead('renewed after this instance had stopped for want of a renewal');
    }

    // Leads until leaseSeconds - stopMarginSeconds after `sentAt`, unless renewed before.
    extend(sentAt) {
        const until = sentAt + this.leaseMs - this.opts.leaderStopMarginSeconds * 1000;
        if (until <= this.validUntil) return;
        this.validUntil = until;
        this.watchDeadline();
    }

    // Timers run on the event loop's millisecond clock and may fire a little before performance.now()
    // reaches the deadline: check again until it has.
    watchDeadline() {
        clearTimeout(this.deadline);
        const left = this.validUntil - mono();
        if (left <= 0) {
            if (this.leader) this.stepDown('the lease could not be renewed in time');
            return;
        }
        this.deadline = setTimeout(() => this.watchDeadline(), Math.ceil(left));
        this.deadline.unref();
    }

    stepDown(why) {
        clearTimeout(this.deadline);
        this.validUntil = 0;
        if (!this.leader) return;
        this.log.warn(`no longer leading the stack (term ${this.term}): ${why}`);
        this.setLeader(false);
    }

    setLeader(leader) {
        this.leader = leader;
        try {
            this.onChange(leader);
        } catch (err) {
            this.log.error(`leadership change: ${err && err.stack ? err.stack : err}`);
        }
    }

    // Graceful stop, once the flows are stopped: free the lease so another instance takes it at once.
    async close() {
        this.closed = true;
        clearTimeout(this.timer);
        clearTimeout(this.deadline);
        await this.running;
        if (this.term === null) return; // nothing of this process's to free
        this.leader = false;
        const release = this.coll.updateOne(
            { _id: LEASE_ID, holder: this.opts.instanceId, term: this.term },
            { $set: { holder: null, expiresAt: new Date(this.dbNow()) }, $currentDate: { renewedAt: true, releasedAt: true } },
        );
        await within(release.catch((err) => this.log.warn(`could not release the leader lease (${err.message})`)), 2000);
    }
}

module.exports = { LeaderLease, LEASE_ID };
