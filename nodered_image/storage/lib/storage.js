'use strict';
// createStorage(): one storage (index.js makes the process's own; tests make more). Makes its parts at
// init (assemble(): each gets its collaborators when it is made) and returns the object Node-RED and the
// launcher use; nothing else of it is reachable.
const { EventEmitter } = require('events');
const { readOptions } = require('./options');
const { connectWithBackoff, redact } = require('./connect');
const { openCollections } = require('./collections');
const { consoleLog, runtimeLog } = require('./storage_log');
const { refuse } = require('./refused_writes');
const { Health } = require('./health');
const { FlowEvents } = require('./events');
const { Revisions } = require('./revisions');
const { Flows } = require('./flows');
const { Reloader } = require('./reloader');
const { settingsDocument, sessionsDocument } = require('./settings_sessions');
const { Library } = require('./library');
const { runDeploy } = require('./deploy_context');
const { storageProblem } = require('./codec');
const { liveWorkers, mixedVersionsProblem } = require('./versions');
const { CredentialKey } = require('./credential_key');
const { setUpLeadership } = require('./tab_leadership');
const { PartialReloads } = require('./partial');

// Why Node-RED reports flows unable to start (its runtime-state event), in words.
function startProblem(payload) {
    if (payload.error === 'missing-types') return `missing node types: ${(payload.types || []).join(', ') || '?'}`;
    if (payload.error === 'missing-modules') {
        return `missing modules: ${(payload.modules || []).map((m) => m.module || String(m)).join(', ') || '?'}`;
    }
    return null;
}

// The parts of a connected storage, each given what it works with when it is made, in this order:
// revisions, a worker's partial reloads, the reloader, the flows Node-RED gets. One part is asked for
// before it exists: the numbering (in revisions) asks whether the reloader's change stream stayed open
// (null until the reloader is made, as when it is not open). reload(): makes Node-RED load its flows again.
function assemble({ runtime, c, opts, log, health, events, isClosed, reload }) {
    let reloader = null;
    const revisions = new Revisions({
        collections: c, opts, log, isClosed,
        onFailure: (f) => {
            health.noteFailure(f);
            if (f.kind === 'malformed') log.error(`revision ${f.rev} cannot be loaded: ${f.reason}; skipped`);
        },
        following: () => (reloader ? reloader.followingPeriod() : null),
    });
    // A worker applies "modified flows"/"modified nodes" deploys as a diff (partial.js).
    const partial = opts.role === 'worker' && runtime && runtime.flows
        ? new PartialReloads({ runtime, revisions, health, events, opts, log })
        : null;
    // Every instance follows the revisions: workers to serve them, the editor to show what runs
    // (a rollback, a restore) and not deploy over it unknowingly.
    reloader = new Reloader({ coll: c.flows, health, revisions, events, partial, reload, opts, log, isClosed });
    return {
        revisions, partial, reloader,
        flows: new Flows({ revisions, health, events, reloader, partial, opts, log, isClosed }),
        settings: settingsDocument(c, opts.role),
        sessions: sessionsDocument(c, opts.role),
        library: new Library(c.library),
        instances: c.instances,
    };
}

function createStorage() {
    let log = consoleLog('[storage] ');
    let opts = null;
    let client = null;
    let closed = false;
    const emitter = new EventEmitter(); // storage.events: the launcher listens before init (events.js)
    let health = null; // from init: what /healthz reports
    let parts = null; // assemble()'s, once connected
    let launcherReload = null; // the launcher's reload function (useReload), when it handed one over
    let leadership = null; // run-once tabs and the leader lease (tab_leadership.js)
    let key = null; // the credential key as the database knows it (credential_key.js), when Node-RED has one
    const isClosed = () => closed;

    async function init(settings, runtime) {
        log = runtimeLog(runtime, '[storage] ');
        opts = readOptions(settings);
        // Which Node-RED this is: in the status record (versions.js compares the editor's and the workers').
        opts.nodeRedVersion = runtime && typeof runtime.version === 'function' ? runtime.version() : null;
        log.info(`role ${opts.role}, instance ${opts.instanceId}, MongoDB ${redact(opts.mongoUrl)} database ${opts.database}, ` +
            `keeping ${opts.revisionsKept} revisions${opts.role === 'worker' ? `, revision check every ${opts.syncCheckSeconds} s` : ''}`);
        const events = new FlowEvents({ emitter, log, opts });
        // Health reports from the start (waiting for MongoDB); what it reports of the parts made once
        // connected (the highest revision seen, a reload due) it asks them for, null and false before.
        health = new Health({
            log, events,
            seenRev: () => (parts ? parts.revisions.highestSeenRev() : null),
            pending: () => Boolean(parts) && parts.reloader.wanted(),
        });
        health.set('waiting-for-db');
        client = await connectWithBackoff(opts, log, isClosed);
        health.watch(client, opts.database);
        const c = await openCollections(client, opts, log, isClosed);
        if (opts.credentialSecret) {
            // Nothing of the flows is loaded, and no lease taken, while this instance's key is not the database's.
            key = new CredentialKey({ db: client.db(opts.database), opts, health, log, isClosed,
                record: () => health.startRecording(c.instances, opts) });
            await key.admit();
        }
        // The editor reloads through the launcher's function (its flows API, which serializes with deploys).
        const reload = () => (launcherReload ? launcherReload() : runtime.nodes.loadFlows(true));
        parts = assemble({ runtime, c, opts, log, health, events, isClosed, reload });
        const { flows } = parts;
        if (runtime && runtime.events) {
            runtime.events.on('flows:started', (ev) => flows.started(ev));
            runtime.events.on('runtime-event', (ev) => {
                const payload = ev && ev.id === 'runtime-state' && ev.payload ? ev.payload : null;
                if (!payload) return;
                const problem = startProblem(payload);
                if (problem) flows.failed(problem);
                if (payload.error === 'credentials_load_failed') health.setCredentialsFailed(true);
            });
        }
        leadership = await setUpLeadership({ runtime, client, opts, health, log });
        health.set('loading');
        health.startRecording(c.instances, opts);
        if (parts.partial) parts.partial.install();
        parts.reloader.start();
    }

    async function close() {
        if (closed) return;
        closed = true;
        if (parts) {
            const numbering = parts.revisions.close(); // the counter raised to the last deploy's number
            await parts.reloader.close(); // a getFlows waiting for a loadable revision gives up
            await numbering;
        }
        if (leadership) await leadership.close();
        if (key) key.close();
        if (health) {
            await health.stopRecording();
            health.unwatch();
        }
        if (client) await client.close().catch(() => {});
    }

    return {
        // Node-RED's storage API (settings.storageModule).
        init,
        getFlows: () => parts.flows.get(),
        saveFlows: (flows, user) => parts.flows.save(flows, user),
        getCredentials: () => parts.flows.getCredentials(),
        saveCredentials: (credentials) => parts.flows.saveCredentials(credentials),
        getSettings: () => parts.settings.get(),
        saveSettings: (settings) => parts.settings.save(settings),
        getSessions: () => parts.sessions.get(),
        saveSessions: (sessions) => parts.sessions.save(sessions),
        getLibraryEntry: (type, path) => parts.library.get(type, path),
        saveLibraryEntry: async (type, path, meta, body) => {
            if (opts.role !== 'editor') refuse('library entries', log);
            await parts.library.save(type, path, meta, body);
        },
        // For the launcher: /healthz, the X-Flows-Revision header, the request gate, deploy checks
        // (lib/deploy_guard.js), shutdown.
        statusInfo: () => (health ? health.info(opts) : Health.beforeInit()),
        revisionForHash: (hash) => {
            const found = parts ? parts.revisions.revisionForHash(hash) : null;
            return found ? found.rev : null;
        },
        // The database once connected (null before): the launcher keeps its debug messages there.
        database: () => (client && !closed ? client.db(opts.database) : null),
        events: emitter,
        // runDeploy({type, user}, fn): fn is the flows API call of a deploy of that type (Node-RED-Deployment-Type).
        runDeploy,
        // Why these flows cannot be stored exactly (a description naming the place), or null.
        storageProblem: (flowsToSave) => storageProblem(flowsToSave),
        // Why no deploy may be saved now, from one read of the live workers' status records:
        // {olderWorkers, otherKey}, each a message or null (workers on an older Node-RED: versions.js;
        // workers on another credential key: credential_key.js).
        deployProblems: async () => {
            const none = { olderWorkers: null, otherKey: null };
            if (!parts || (!opts.nodeRedVersion && !key)) return none;
            const records = await liveWorkers(parts.instances);
            return {
                olderWorkers: opts.nodeRedVersion ? mixedVersionsProblem(records, opts.nodeRedVersion) : null,
                otherKey: key ? key.deployProblem(records) : null,
            };
        },
        // The editor reloads its flows through this function (its flows API, which serializes with deploys).
        useReload: (fn) => {
            launcherReload = fn;
        },
        close,
    };
}

module.exports = { createStorage };
