'use strict';
// The flows Node-RED runs: what getFlows/getCredentials hand it and what saveFlows/saveCredentials
// store (revisions.js), what it reports started or unable to start (health.js, and the events of
// events.js), and the worker's reloads told of both (reloader.js).
const { refuse } = require('./refused');
const { credentialsForNodeRed } = require('./empty_credentials');

class Flows {
    constructor({ revisions, health, events, opts, log }) {
        this.revisions = revisions;
        this.health = health;
        this.events = events;
        this.opts = opts;
        this.log = log;
        this.reloader = null; // workers only
    }

    async get() {
        // The newest known revision as delivered by the change stream, else read from the database.
        const [loaded, saved] = await this.revisions.load(this.health.latestRev);
        this.health.credentialsFailed = false; // set again by Node-RED's event if these fail to decrypt
        this.health.noteLatest(loaded.rev);
        if (this.health.startedOnce) await this.events.swapStarting(loaded.rev, 'reload');
        this.log.info(saved ? `loaded flows revision ${loaded.rev} (${loaded.flows.length} nodes)` : 'no flows saved yet: starting with an empty flow set');
        return loaded.flows;
    }

    async getCredentials() {
        if (!this.revisions.loaded) await this.get();
        return credentialsForNodeRed(this.revisions.credentials(), this.opts.credentialSecret);
    }

    async saveCredentials(credentials) {
        if (this.opts.role !== 'editor') refuse('credentials', this.log);
        // Written together with the flows by the saveFlows call that follows (one insert per deploy).
        this.revisions.stageCredentials(credentials);
    }

    async save(flows, user) {
        if (this.opts.role !== 'editor') {
            this.revisions.dropStaged();
            refuse('flows', this.log);
        }
        const savedBy = user && user.username ? user.username : null;
        const { rev, credentialsUpdated } = await this.revisions.insert(flows, savedBy);
        this.health.noteLatest(rev);
        await this.events.swapStarting(rev, 'deploy');
        this.log.info(`saved flows as revision ${rev} (${flows.length} nodes${credentialsUpdated ? ', credentials updated' : ''}${savedBy ? `, by ${savedBy}` : ''})`);
        this.revisions.prune(rev);
        return rev;
    }

    // Node-RED's flows:started event: its config.rev is its hash of the flows it started.
    started(ev) {
        const hash = ev && ev.config && ev.config.rev;
        const rev = this.revisions.revisionForHash(hash) ?? this.revisions.loadedRev;
        const previous = this.health.flowsStarted(rev, this.opts.role);
        const savedAt = rev === this.revisions.loadedRev ? this.revisions.loadedSavedAt : null;
        const swapMs = this.events.flowsStarted(rev, previous, savedAt);
        const seenMs = this.reloader ? this.reloader.takeSeen(rev) : null;
        // A reload's line says how long the swap took (requests held) and how long since it was seen.
        const took = [swapMs !== null ? `swapped in ${swapMs} ms` : null, seenMs !== null ? `${seenMs} ms after it was seen` : null]
            .filter(Boolean).join(', ');
        this.log.info(previous === rev ? `flows of revision ${rev} started${took ? ` (${took})` : ''}`
            : `running flows revision ${rev}${previous !== null ? ` (was ${previous}${took ? `; ${took}` : ''})` : ''}`);
        if (this.reloader) this.reloader.flowsStarted(rev);
    }

    failed(reason) {
        const rev = this.revisions.loadedRev;
        this.log.error(`flows of revision ${rev ?? '?'} could not start: ${reason}`);
        this.health.set('error');
        this.events.startFailed(rev, reason);
        if (this.reloader) this.reloader.startFailed(rev, reason);
    }
}

module.exports = { Flows };
