'use strict';
// An instance's reloads: the one place that makes Node-RED load flows again (getFlows, stop, start)
// once it runs. Workers reload through the runtime (runtime.nodes.loadFlows: no admin API); the editor
// through its flows API (the launcher hands it over: Node-RED's API lock keeps it apart from deploys).
//
// What is loaded is always "the newest revision that can start" (revisions.js: pick), by identity
// (number and deployId), not by number alone: after a restore the newest may have a lower number
// than the one running, and it is loaded all the same. A reload is due when
//   - the newest revision is not the one Node-RED was handed, and has not failed here;
//   - "restart flows" was recorded on the revision this instance runs (or the newest);
//   - the revision this instance runs was edited in place, or requestReload() asks for it;
//   - the revision just handed failed to start (workers only: fall back to the newest one that
//     can start, which is loaded again; the editor keeps the failed flows loaded, so they can be fixed).
// One reload at a time; what arrives meanwhile is looked at when it ends, so bursts coalesce.
// Each reload has a cause (events.js, 'swap-starting'): reload, restart, fallback.
const { performance } = require('perf_hooks');
const { RevisionFollower } = require('./follower');
const { describeId } = require('./revision_doc');
const { within, TIMED_OUT } = require('../../common/within');

class Reloader {
    // coll: `flows`, to follow (follower.js); reload(): makes Node-RED load its flows again (the runtime's
    // loadFlows, or the editor's flows API: useReload); partial: a worker's partial reloads (partial.js:
    // "flows"/"nodes" deploys as a diff), else null.
    constructor({ coll, health, revisions, events, partial, reload, opts, log, isClosed }) {
        this.health = health;
        this.revisions = revisions;
        this.events = events;
        this.partial = partial;
        this.reload = reload;
        this.opts = opts;
        this.log = log;
        this.isClosed = isClosed;
        this.reloading = null; // the reload loop while it runs
        this.cause = null; // cause of the reload in progress, for getFlows
        this.head = null; // {rev, key, restarts}: newest numbered revision seen
        this.headSetAt = 0; // when head was last set (performance.now())
        this.restartWanted = null; // {rev, count} of a "restart flows" not carried out yet
        this.restartCounts = new Map(); // rev -> restarts count known
        this.editedWanted = false;
        this.nextPick = null; // after a failed start: the revision a worker falls back to
        this.waiter = null; // the running reload, waiting for Node-RED to report its flows started
        this.seenTimes = new Map(); // rev -> when this instance first learnt of it (for the reload log line)
        this.strays = new Set();
        this.changeWaiters = new Set(); // nextChange() calls waiting (a worker's getFlows, for a loadable revision)
        this.follower = new RevisionFollower({
            coll, log, checkSeconds: opts.syncCheckSeconds,
            on: {
                head: (head, reason, doc, replaced, readAt) => this.onHead(head, reason, doc, replaced, readAt),
                stray: (id, reason) => this.onStray(id, reason),
                restart: (rev, count) => this.onRestart(rev, count),
                edited: (rev) => this.onEdited(rev),
            },
        });
    }

    start() {
        this.follower.start();
    }

    // Wakes whoever waits for a revision event, and stops following.
    async close() {
        this.wakeWaiters();
        await this.follower.close();
    }

    // Resolves at the next revision event, or at close.
    nextChange() {
        return new Promise((resolve) => this.changeWaiters.add(resolve));
    }

    wakeWaiters() {
        const waiters = [...this.changeWaiters];
        this.changeWaiters.clear();
        for (const resolve of waiters) resolve();
    }

    // An id of the change stream's current open period, or null while it is not open (follower.js).
    followingPeriod() {
        return this.follower.period();
    }

    // Whether the follower has told of a newest revision (else what getFlows read is the newest known).
    knowsNewest() {
        return this.head !== null;
    }

    // The cause of the reload in progress ('reload', 'restart', 'fallback'; events.js), or null.
    reloadCause() {
        return this.cause;
    }

    // "Restart flows" was recorded on revision `rev` here (its restarts count): nothing to carry out.
    noteRestartCount(rev, count) {
        this.restartCounts.set(rev, count);
    }

    // When this instance first learnt of revision `rev` (Date.now()), or null.
    whenSeen(rev) {
        return this.seenTimes.get(rev) ?? null;
    }

    // The editor's own save is the newest revision; nothing to reload for it.
    noteSaved(loaded) {
        this.head = { rev: loaded.rev, key: loaded.key, restarts: 0 };
        this.headSetAt = performance.now();
        this.restartCounts.set(loaded.rev, 0);
        this.health.noteHead(this.head);
        setImmediate(() => this.schedule()); // what arrived during the save
    }

    onHead(head, reason, doc, replaced, readAt) {
        this.wakeWaiters();
        const h = this.health;
        if (readAt !== undefined && this.head && readAt < this.headSetAt && (head === null || head.rev < this.head.rev)) {
            // A read begun before the newest this instance knows was set (its own save, a change event)
            // found an older one: out of date, or a restore meanwhile. A read begun now tells which.
            this.log.info(`revision check: the newest revision read before revision ${this.head.rev} was known is older; reading again`);
            this.follower.check(reason);
            return;
        }
        if (head === null) {
            // No numbered revision at all (the collection emptied): keep serving what runs. Whatever is
            // inserted next is the newest, whatever its number (a restore refills the collection).
            this.head = null;
            return;
        }
        if (this.head && head.rev < this.head.rev && reason === 'change stream') return; // an older number inserted: not the newest
        this.revisions.noteSeen(head.rev);
        if (doc) this.revisions.offer(doc);
        const isNew = !this.head || this.head.key !== head.key;
        if (isNew && head.key !== this.revisions.loadedKey && !this.revisions.isFailed(head.key) && !this.revisions.isSaving()) {
            if (!this.seenTimes.has(head.rev)) this.seenTimes.set(head.rev, Date.now());
            this.log.info(`new flows revision ${head.rev} (seen by ${reason})`);
        }
        if (replaced && !isNew) this.onEdited(head.rev);
        this.head = head;
        this.headSetAt = performance.now();
        h.noteHead(head);
        const loaded = this.revisions.loaded;
        const known = this.restartCounts.get(head.rev) ?? (loaded && loaded.key === head.key ? loaded.restarts : undefined);
        if (known !== undefined && head.restarts > known) this.onRestart(head.rev, head.restarts);
        else this.restartCounts.set(head.rev, head.restarts);
        this.schedule();
    }

    onStray(id, reason) {
        const name = describeId(id);
        const key = `stray:${name}`;
        if (this.strays.has(key)) return;
        this.strays.add(key);
        const why = `its _id ${name} is not a revision number, so it is never loaded (delete it, or roll back to the revision you meant)`;
        if (this.revisions.fail(key, name, why)) this.log.error(`flows document ${name} (seen by ${reason}) is not a revision: ${why}`);
    }

    onRestart(rev, count) {
        const known = this.restartCounts.get(rev) ?? (this.revisions.loadedRev === rev ? this.revisions.loaded.restarts : 0);
        this.restartCounts.set(rev, Math.max(known, count));
        if (count <= known) return;
        if (rev !== this.revisions.loadedRev && rev !== (this.head && this.head.rev)) return;
        this.log.info(`restart of the flows asked for (revision ${rev}, restart ${count})`);
        this.restartWanted = { rev, count };
        this.health.changed();
        this.schedule();
    }

    // Loads the flows of the running revision again (e.g. when what shape() makes of them changes).
    requestReload(reason) {
        this.log.info(`reloading the flows: ${reason}`);
        this.editedWanted = true;
        this.schedule();
    }

    onEdited(rev) {
        if (rev !== this.revisions.loadedRev && rev !== (this.head && this.head.rev)) return;
        // Changed in place: read again, and give it another chance if it had failed.
        this.revisions.forgetFailures(rev);
        this.log.warn(`revision ${rev} was changed in place: loading it again`);
        this.editedWanted = true;
        this.schedule();
    }

    // How long ago this instance learnt of `rev` (null if it did not wait for it); forgets it and older
    // ones. A newer revision learnt of meanwhile (seen while `rev` was starting) keeps its time: it is
    // loaded next, and its timing needs it.
    takeSeen(rev) {
        const seen = this.seenTimes.get(rev);
        for (const r of this.seenTimes.keys()) if (r <= rev) this.seenTimes.delete(r);
        return seen ? Date.now() - seen : null;
    }

    flowsStarted(rev) {
        if (this.waiter) this.waiter.resolve(rev);
        this.waiter = null;
        this.schedule();
    }

    // Node-RED reported the flows it was handed unable to start (Flows.failed recorded why). Inside a
    // reload the loop carries on from there; otherwise (Node-RED's first start) a worker falls back.
    startFailed(rev, reason) {
        if (this.waiter) {
            this.waiter.reject(new Error(reason));
            this.waiter = null;
            return;
        }
        this.afterFailure(rev, reason).then((pick) => {
            if (!pick) return;
            this.nextPick = pick;
            this.schedule();
        }).catch((err) => this.log.error(`after a failed start: ${err.stack || err}`));
    }

    // Says what follows a failed start: a worker loads the newest revision that can start instead
    // (resolves with that pick), the editor keeps the failed flows loaded so they can be fixed (null).
    async afterFailure(rev, reason) {
        let pick = null;
        if (this.opts.role === 'worker') {
            try {
                const p = await this.revisions.pickWithRetry();
                if (p.kind === 'revision' && p.key !== this.revisions.loadedKey) pick = p;
            } catch (err) {
                this.log.warn(`looking for a revision to fall back to failed (${err.message})`);
            }
        }
        this.health.startFailed(pick !== null);
        this.log.error(`flows of revision ${rev} could not start: ${reason}; ` +
            (pick ? `loading revision ${pick.rev} again, the newest that can start` : 'waiting for a newer revision'));
        this.events.startFailed(rev, reason, pick ? pick.rev : null);
        return pick;
    }

    // Whether a reload is due (synchronous: /healthz asks).
    wanted() {
        if (this.waiter || this.nextPick || this.restartWanted || this.editedWanted) return true;
        const r = this.revisions;
        const head = this.head;
        return Boolean(head) && r.loaded !== null && head.key !== r.loadedKey && !r.isFailed(head.key);
    }

    schedule() {
        // Before the first start Node-RED itself is loading the flows.
        const startAttempted = this.health.startAttempted() || this.nextPick !== null;
        if (this.isClosed() || !startAttempted || this.reloading || this.waiter || this.revisions.isSaving()) return;
        if (!this.wanted()) return;
        this.reloading = this.loop().catch((err) => this.log.error(`reloading flows failed: ${err.stack || err}`)).finally(() => {
            this.reloading = null;
            this.cause = null;
            this.health.changed();
            this.schedule(); // something that arrived while the loop ended
        });
    }

    // What to load next: {pick, cause, restart}, or null when what runs is what should.
    async plan() {
        const r = this.revisions;
        const restart = this.restartWanted;
        const edited = this.editedWanted;
        const fallback = this.nextPick;
        this.restartWanted = null;
        this.editedWanted = false;
        this.nextPick = null;
        if (fallback) return { pick: fallback, cause: 'fallback' };
        const pick = (!restart && !edited && r.fastPick(this.head)) || await r.pickWithRetry();
        if (pick.kind !== 'revision') {
            // Nothing loadable: keep what runs (never swap to an empty flow set because documents went away).
            if (pick.kind === 'unusable') this.log.warn('no revision in the database can be loaded: keeping the flows that run');
            return null;
        }
        if (pick.key !== r.loadedKey) return { pick, cause: 'reload' };
        if (restart || edited) return { pick, cause: restart ? 'restart' : 'reload', restart, edited: !restart };
        return null;
    }

    // Goes on while a reload is due: once the newest known revision runs there is nothing to read (the
    // change stream and the periodic check say when that changes), so no reads follow a reload.
    async loop() {
        while (!this.isClosed() && this.wanted()) {
            const plan = await this.plan();
            if (!plan) return;
            const { pick, cause, restart } = plan;
            const partialType = this.partial ? this.partial.decide(pick, plan) : null;
            const partial = partialType === 'flows' || partialType === 'nodes';
            if (this.partial && !partial) this.log.debug(`revision ${pick.rev}: full load (${partialType})`);
            this.cause = cause;
            this.revisions.choose(pick); // what the getFlows inside reload() hands Node-RED
            this.health.set('reloading');
            this.log.debug(`reloading flows (${cause}): running revision ${this.health.runningRevision()}, loading ${pick.rev}`);
            const started = new Promise((resolve, reject) => {
                this.waiter = { resolve, reject };
            });
            started.catch(() => {});
            try {
                if (!partial || !(await this.partial.apply(pick, partialType))) await this.reload();
                if (await within(started, this.opts.reloadTimeoutSeconds * 1000) === TIMED_OUT) {
                    throw new Error(`flows not started within ${this.opts.reloadTimeoutSeconds} s`);
                }
                if (restart) {
                    this.health.restarted(pick.rev, restart.count);
                    this.health.changed();
                }
            } catch (err) {
                this.waiter = null;
                const loaded = this.revisions.loaded || { rev: pick.rev, key: pick.key };
                this.revisions.fail(loaded.key, loaded.rev, err.message, 'start');
                const next = await this.afterFailure(loaded.rev, err.message);
                if (!next) return;
                this.nextPick = next;
            } finally {
                this.revisions.choose(null);
            }
        }
    }
}

module.exports = { Reloader };
