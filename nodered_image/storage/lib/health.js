'use strict';
// Health of this instance: its state, the revision whose flows run and the newest one known, and
// whether MongoDB answers. /healthz reports it (statusInfo) and the status record in `instances`
// (status.js) carries it to the other instances and the status command.
const { StatusRecorder } = require('./status');

const STATES = ['starting', 'waiting-for-db', 'loading', 'running', 'reloading', 'error'];

class Health {
    constructor(log) {
        this.log = log;
        this.state = 'starting';
        this.runningRev = null; // revision whose flows are started
        this.latestRev = null; // newest revision known to exist
        this.startedOnce = false; // Node-RED has started flows since the process started
        this.credentialsFailed = false; // Node-RED could not decrypt the credentials just loaded
        this.serverUp = null; // MongoDB address -> reachable, per replica set member
        this.recorder = null;
        this.leader = false; // holds the leader lease (leader.js)
    }

    setLeader(leader) {
        this.leader = leader;
        this.changed(50);
    }

    set(state) {
        if (!STATES.includes(state)) throw new Error(`unknown state ${state}`);
        if (this.state === state) return;
        this.state = state;
        this.changed();
    }

    // Writes the status record soon (changes close together make one write).
    changed(delayMs) {
        if (this.recorder) this.recorder.changed(delayMs);
    }

    noteLatest(rev) {
        if (this.latestRev === null || rev > this.latestRev) this.latestRev = rev;
    }

    // Node-RED started the flows of `rev`; returns the revision that ran before.
    flowsStarted(rev, role) {
        const previous = this.runningRev;
        this.runningRev = rev;
        this.startedOnce = true;
        if (this.credentialsFailed && role === 'worker') {
            // Running, but every node with credentials is broken: a worker is not ready like that.
            this.log.error(`credentials of revision ${rev} could not be decrypted: NODE_RED_CREDENTIAL_SECRET ` +
                "must be the editor's; not ready until a revision whose credentials decrypt");
            this.set('error');
        } else {
            this.set('running');
        }
        // The settled state is recorded promptly (status readers compare revisions across instances),
        // just after the other workers' reloads rather than in the middle of them.
        this.changed(50);
        return previous;
    }

    // One log line when the connection to MongoDB is lost and one when it is back (driver monitoring).
    watch(client) {
        this.serverUp = new Map();
        client.on('serverDescriptionChanged', (ev) => {
            const up = ev.newDescription.type !== 'Unknown';
            const was = this.serverUp.has(ev.address) ? this.serverUp.get(ev.address) : true;
            this.serverUp.set(ev.address, up);
            if (up === was) return;
            if (up) this.log.info(`MongoDB reachable again at ${ev.address}`);
            else this.log.warn(`lost connection to MongoDB at ${ev.address} (${ev.newDescription.error ? ev.newDescription.error.message : 'no answer'}); flows keep running`);
        });
    }

    get dbReachable() {
        return Boolean(this.serverUp) && (this.serverUp.size === 0 || [...this.serverUp.values()].some(Boolean));
    }

    startRecording(coll, opts) {
        this.recorder = new StatusRecorder({
            coll, opts, log: this.log,
            snapshot: () => ({ state: this.state, rev: this.runningRev, latestRev: this.latestRev, leader: this.leader }),
        });
        this.recorder.start();
    }

    // Graceful stop: the status record goes now instead of expiring later.
    async stopRecording() {
        if (this.recorder) await this.recorder.remove();
    }

    // What /healthz reports: ready when the flows of the newest known revision are started.
    info(opts) {
        const o = opts || {};
        const ready = this.state === 'running' && this.runningRev !== null && this.runningRev >= (this.latestRev || 0);
        return {
            role: o.role || null, instance: o.instanceId || null, rev: this.runningRev, latestRev: this.latestRev,
            state: this.state, ready, dbReachable: this.dbReachable, leader: this.leader,
        };
    }
}

module.exports = { Health, STATES };
