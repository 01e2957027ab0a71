'use strict';
// The status report's rules, as data: which instance is stale, why a worker does not count as serving
// the newest revision, whether every worker serves it. The status command's MongoDB mode keeps the same
// rules in Python (nodered_status/report.py); both run the vectors of test/cluster_rules.json.
//
// report({records, newest, lease, now, staleAfter}) -> the body of GET /cluster/status: every record's
// own fields (the status command's --url mode rebuilds the records from them and renders them as it
// renders MongoDB's) beside what the rules make of them.

const iso = (d) => (d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : null);
const dateOf = (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v : null);
const isSet = (v) => v !== null && v !== undefined;
// Python's `x or 0`: a missing or falsy number counts as revision 0 (the storage's empty flow set).
const orZero = (v) => v || 0;

function instanceOf(doc) {
    const restart = doc.restart && typeof doc.restart === 'object' && !Array.isArray(doc.restart) ? doc.restart : null;
    return {
        id: String(doc._id),
        role: String(doc.role || '?'),
        host: isSet(doc.host) ? doc.host : null,
        port: isSet(doc.port) ? doc.port : null,
        pid: isSet(doc.pid) ? doc.pid : null,
        rev: isSet(doc.rev) ? doc.rev : null,
        latestRev: isSet(doc.latestRev) ? doc.latestRev : null,
        state: isSet(doc.state) ? doc.state : null,
        ready: typeof doc.ready === 'boolean' ? doc.ready : null,
        startedAt: dateOf(doc.startedAt),
        lastSeen: dateOf(doc.lastSeen),
        failedRev: isSet(doc.failedRev) ? doc.failedRev : null,
        failure: isSet(doc.failure) ? doc.failure : null,
        message: isSet(doc.message) ? doc.message : null,
        restart,
        nodeRedVersion: typeof doc.nodeRedVersion === 'string' ? doc.nodeRedVersion : null,
        credentialKey: typeof doc.credentialKey === 'string' ? doc.credentialKey : null,
        leader: doc.leader === true,
    };
}

// An instance whose credential key is not the database's refuses to serve (storage/lib/credential_key.js):
// its state is `error` and its message says why.
const REFUSING = 'refusing to serve: ';
const refusal = (i) => (i.state === 'error' && typeof i.message === 'string' && i.message.startsWith(REFUSING) ? i.message : null);

const byRoleThenId = (a, b) => {
    const ka = [a.role !== 'editor' ? 1 : 0, a.role, a.id];
    const kb = [b.role !== 'editor' ? 1 : 0, b.role, b.id];
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
};

class Rules {
    constructor({ newestRev, restarts, restartedAt, now, staleAfter }) {
        Object.assign(this, { newestRev, restarts, restartedAt, now, staleAfter });
    }

    age(i) {
        return i.lastSeen ? Math.max(0, (this.now - i.lastSeen) / 1000) : null;
    }

    stale(i) {
        const age = this.age(i);
        return age === null || age > this.staleAfter;
    }

    // Why this worker does not count as serving the newest revision, or null.
    workerProblem(w) {
        if (this.stale(w)) return 'stale';
        if (refusal(w)) return refusal(w);
        if (isSet(w.failedRev) && w.failure && orZero(w.rev) !== orZero(this.newestRev)) {
            const serving = isSet(w.rev) && w.state === 'running' ? `serving ${w.rev}` : 'not serving';
            return `revision ${w.failedRev} failed: ${w.failure} (${serving})`;
        }
        if (w.state !== 'running') return `state ${w.state || 'unknown'}`;
        if (orZero(w.rev) !== orZero(this.newestRev)) return 'behind';
        return null;
    }

    // What the NOTE column says: why a worker does not count, a stale or failing editor.
    note(i) {
        if (i.role === 'worker') return this.workerProblem(i) || '';
        if (this.stale(i)) return 'stale';
        if (refusal(i)) return refusal(i);
        if (isSet(i.failedRev) && i.failure) return `revision ${i.failedRev} failed: ${i.failure}`;
        return '';
    }

    // Whether it carried out the newest revision's last "restart flows" (or started after it).
    restarted(i) {
        const r = i.restart || {};
        if (r.rev === this.newestRev && orZero(r.count) >= this.restarts) return true;
        return Boolean(this.restartedAt && i.startedAt && i.startedAt >= this.restartedAt);
    }

    // Revisions behind the newest (0 in step), null when either is unknown.
    behind(i) {
        if (typeof this.newestRev !== 'number' || typeof i.rev !== 'number') return null;
        return Math.max(0, this.newestRev - i.rev);
    }
}

function report({ records, newest, lease = null, now, staleAfter }) {
    const doc = newest || {};
    const newestRev = 'rev' in doc ? (isSet(doc.rev) ? doc.rev : null) : (isSet(doc._id) ? doc._id : null);
    const restartedAt = dateOf(doc.restartedAt);
    const restarts = Number(doc.restarts) || 0;
    const rules = new Rules({ newestRev, restarts, restartedAt, now, staleAfter });
    const instances = records.map(instanceOf).sort(byRoleThenId);
    const workers = instances.filter((i) => i.role === 'worker');
    const serving = workers.filter((w) => rules.workerProblem(w) === null).length;
    const holder = lease && lease.holder ? String(lease.holder) : null;
    const leaseLive = Boolean(holder && (!dateOf(lease.expiresAt) || lease.expiresAt > now));
    return {
        now: iso(now),
        staleAfterSeconds: staleAfter,
        newestRev,
        newest: newest ? {
            rev: newestRev, savedAt: iso(doc.savedAt), savedBy: isSet(doc.savedBy) ? doc.savedBy : null,
            deployType: isSet(doc.deployType) ? doc.deployType : null, rollbackOf: isSet(doc.rollbackOf) ? doc.rollbackOf : null,
        } : null,
        inSync: workers.length > 0 && serving === workers.length,
        workers: { total: workers.length, serving },
        instances: instances.map((i) => ({
            id: i.id, role: i.role, host: i.host, port: i.port, pid: i.pid, rev: i.rev, latestRev: i.latestRev,
            state: i.state, ready: i.ready, startedAt: iso(i.startedAt), lastSeen: iso(i.lastSeen),
            lastSeenAgeSeconds: rules.age(i), stale: rules.stale(i), behind: rules.behind(i),
            problem: i.role === 'worker' ? rules.workerProblem(i) : null, note: rules.note(i),
            failedRev: i.failedRev, failure: i.failure, message: i.message, nodeRedVersion: i.nodeRedVersion,
            credentialKey: i.credentialKey, refusal: refusal(i),
            restart: i.restart ? { ...i.restart, at: iso(i.restart.at) || i.restart.at || null } : null,
            restarted: restarts ? rules.restarted(i) : null,
            leader: i.leader || (leaseLive && holder === i.id),
        })),
        lease: lease ? { holder, term: isSet(lease.term) ? lease.term : null, expiresAt: iso(lease.expiresAt) } : null,
        restarts,
        restartedAt: iso(restartedAt),
        restartedBy: isSet(doc.restartedBy) ? doc.restartedBy : null,
    };
}

module.exports = { report };
