'use strict';
// The flows Node-RED runs: what getFlows/getCredentials hand it and what saveFlows/saveCredentials
// store (revisions.js), what it reports started or unable to start (health.js, and the events of
// events.js), and the reloads told of both (reloader.js).
//
// getFlows goes through load(): pick the revision (revisions.take), shape the flows Node-RED gets
// (shape(): the place for transforms of the loaded flows), announce the swap, log. Reloads all start
// in reloader.js; "restart flows" in the editor (a reload deploy) is recorded here for every instance.
// A worker's partial reload (partial.js) hands Node-RED its flows the same way (shape, logLoaded).
const { refuse } = require('./refused_writes');
const { currentDeploy } = require('./deploy_context');
const { credentialsForNodeRed } = require('./empty_credentials');
const { underCurrentKey } = require('./credential_key');
const { syncTiming, describeTiming } = require('./timing');
const countTabs = (flows) => flows.filter((n) => n && n.type === 'tab').length;

// The flows Node-RED is handed for a loaded revision (a copy is not needed: Node-RED clones them).
function shape(flows) {
    return flows;
}

// The log line of a revision handed to Node-RED; skipped: the malformed revisions above it ([{rev, reason}]).
function logLoaded(log, pick, loaded, skipped) {
    const note = skipped.length ? `; skipped ${skipped.map((f) => `revision ${f.rev} (${f.reason})`).join(', ')}` : '';
    if (pick.kind === 'revision') log.info(`loaded flows revision ${loaded.rev} (${loaded.flows.length} nodes)${note}`);
    else if (pick.kind === 'none') log.info('no flows saved yet: starting with an empty flow set');
    else log.error(`no revision in the database can be loaded: starting with an empty flow set${note}`);
}

class Flows {
    // reloader: this instance's reloads (reloader.js); partial: a worker's partial reloads (partial.js), else null.
    constructor({ revisions, health, events, reloader, partial, opts, log, isClosed }) {
        this.revisions = revisions;
        this.isClosed = isClosed;
        this.health = health;
        this.events = events;
        this.reloader = reloader;
        this.partial = partial;
        this.opts = opts;
        this.log = log;
    }

    async get() {
        return (await this.load()).flows;
    }

    async load() {
        const deploy = currentDeploy();
        const restartAsked = this.opts.role === 'editor' && deploy && deploy.type === 'reload';
        let pick = await this.revisions.take();
        // A worker starts only with flows that can run: while every kept revision is malformed, wait.
        while (pick.kind === 'unusable' && this.opts.role === 'worker' && !this.health.hasStarted()) {
            this.log.warn('no revision in the database can be loaded: waiting for one');
            await this.reloader.nextChange();
            if (this.isClosed()) throw new Error('storage closed while waiting for a revision that can be loaded');
            pick = await this.revisions.take();
        }
        const loaded = this.revisions.hand(pick);
        const tabs = countTabs(loaded.flows);
        loaded.applied = { mode: 'full', restarted: { flows: tabs, of: tabs }, summary: null };
        this.health.setCredentialsFailed(false); // set again by Node-RED's event if these fail to decrypt
        if (pick.kind === 'none') this.health.noteHead({ rev: 0, key: 'none' });
        else if (!this.reloader.knowsNewest()) this.health.noteHead(pick.head);
        if (this.health.hasStarted()) {
            const cause = this.reloader.reloadCause() || (restartAsked ? 'restart' : 'reload');
            await this.events.swapStarting(loaded.rev, cause);
        }
        logLoaded(this.log, pick, loaded, this.revisions.skippedAbove(loaded.rev));
        if (restartAsked) await this.recordRestart(loaded, deploy.user);
        return { rev: loaded.rev, flows: shape(loaded.flows) };
    }

    // "Restart flows" in the editor: Node-RED reloads its own flows; the revision records the request
    // and every other instance restarts its flows when it sees it (reloader.js).
    async recordRestart(loaded, user) {
        try {
            const count = await this.revisions.requestRestart(loaded.rev, user);
            if (count !== null) {
                this.health.restarted(loaded.rev, count);
                this.reloader.noteRestartCount(loaded.rev, count);
                this.log.info(`restart of the flows recorded on revision ${loaded.rev} (restart ${count}${user ? `, by ${user}` : ''}): every instance restarts its flows`);
            }
        } catch (err) {
            this.log.error(`could not record the restart of the flows (${err.message}): other instances keep running theirs`);
        }
    }

    async getCredentials() {
        if (!this.revisions.loaded) await this.get();
        return credentialsForNodeRed(underCurrentKey(this.revisions.credentials(), this.opts), this.opts.credentialSecret);
    }

    async saveCredentials(credentials) {
        if (this.opts.role !== 'editor') refuse('credentials', this.log);
        // Written together with the flows by the saveFlows call that follows (one insert per deploy).
        this.revisions.stageCredentials(credentials);
    }

    async save(flows, user) {
        // A worker applying a revision as a partial deploy (partial.js): Node-RED "saves" what it was handed.
        if (this.opts.role === 'worker' && this.partial && this.partial.applying()) return this.partial.saved();
        if (this.opts.role !== 'editor') {
            this.revisions.dropStaged();
            refuse('flows', this.log);
        }
        const savedBy = user && user.username ? user.username : null;
        const deploy = currentDeploy();
        const deployType = deploy ? deploy.type : null;
        const deployStartedAt = deploy ? deploy.startedAt : null;
        const writeStarted = Date.now();
        const fields = deploy ? deploy.fields : undefined;
        const loaded = await this.revisions.insert(flows, { savedBy, deployType, deployStartedAt, baseKey: this.revisions.loadedKey, fields });
        const writeMs = Date.now() - writeStarted;
        this.reloader.noteSaved(loaded);
        await this.events.swapStarting(loaded.rev, 'deploy');
        this.log.info(`saved flows as revision ${loaded.rev} (${flows.length} nodes${loaded.credentialsUpdated ? ', credentials updated' : ''}` +
            `${savedBy ? `, by ${savedBy}` : ''}${deployType ? `, ${deployType} deploy` : ''}; ` +
            `${deployStartedAt ? `${writeStarted - deployStartedAt} ms from the deploy call, ` : ''}database write ${writeMs} ms)`);
        this.revisions.schedulePrune();
        return loaded.rev;
    }

    // Node-RED's flows:started event: its config.rev is its hash of the flows it started.
    started(ev) {
        const hash = ev && ev.config && ev.config.rev;
        const loaded = this.revisions.revisionForHash(hash) || this.revisions.loaded || { rev: null, key: null };
        const previous = this.health.flowsStarted(loaded.rev, loaded.key, this.opts.role);
        const current = loaded.rev === this.revisions.loadedRev ? this.revisions.loaded : null;
        const savedAt = current ? this.revisions.loadedSavedAt : null;
        const seenAt = this.reloader.whenSeen(loaded.rev);
        const applied = current && current.applied ? current.applied : null;
        const swapMs = this.events.swapMs();
        const timing = previous === null ? null : syncTiming({
            rev: loaded.rev, deployStartedAt: current ? current.deployStartedAt : null, savedAt, seenAt, swapMs,
            mode: applied ? applied.mode : 'full', restarted: applied ? applied.restarted : null,
        });
        if (timing && this.opts.role === 'worker') this.health.noteSync(timing);
        this.events.flowsStarted(loaded.rev, previous, savedAt, timing);
        const seenMs = this.reloader.takeSeen(loaded.rev);
        // A reload's line says how long the swap took (requests held), how long since it was seen, what
        // restarted, and the deploy's way here in parts (timing.js).
        const how = applied && applied.mode === 'partial' ? applied.summary : null;
        const took = [how, swapMs !== null ? `swapped in ${swapMs} ms` : null, seenMs !== null ? `${seenMs} ms after it was seen` : null,
            timing && seenMs !== null ? describeTiming(timing) : null]
            .filter(Boolean).join(', ');
        this.log.info(previous === loaded.rev ? `flows of revision ${loaded.rev} started${took ? ` (${took})` : ''}`
            : `running flows revision ${loaded.rev}${previous !== null ? ` (was ${previous}${took ? `; ${took}` : ''})` : ''}`);
        this.reloader.flowsStarted(loaded.rev);
    }

    // Node-RED could not start the flows it was handed (a node type or module the image lacks).
    failed(reason) {
        const loaded = this.revisions.loaded || { rev: null, key: null };
        this.revisions.fail(loaded.key, loaded.rev, reason, 'start');
        this.reloader.startFailed(loaded.rev, reason);
    }
}

module.exports = { Flows, shape, logLoaded, countTabs };
