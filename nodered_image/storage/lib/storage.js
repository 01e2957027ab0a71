'use strict';
// createStorage(): one storage (index.js makes the process's own; tests make more). Wires the parts
// together at init and returns the object Node-RED and the launcher use; nothing else of it is reachable.
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
const { mixedVersionsProblem } = require('./versions');

// Why Node-RED reports flows unable to start (its runtime-state event), in words.
function startProblem(payload) {
    if (payload.error === 'missing-types') return `missing node types: ${(payload.types || []).join(', ') || '?'}`;
    if (payload.error === 'missing-modules') {
        return `missing modules: ${(payload.modules || []).map((m) => m.module || String(m)).join(', ') || '?'}`;
    }
    return null;
}
const { setUpLeadership } = require('./tab_leadership');
const { PartialReloads } = require('./partial');

function createStorage() {
    let log = consoleLog('[storage] ');
    let opts = null;
    let client = null;
    let closed = false;
    let parts = null; // {revisions, flows, settings, sessions, library, reloader} once connected
    let pendingReload = null; // the launcher's reload function, when handed over before init
    let leadership = null; // run-once tabs and the leader lease (tab_leadership.js)
    const isClosed = () => closed;
    const health = new Health(log);
    const events = new FlowEvents(log);

    async function init(settings, runtime) {
        log = runtimeLog(runtime, '[storage] ');
        health.log = log;
        events.log = log;
        opts = readOptions(settings);
        // Which Node-RED this is: in the status record (versions.js compares the editor's and the workers').
        opts.nodeRedVersion = runtime && typeof runtime.version === 'function' ? runtime.version() : null;
        events.opts = opts;
        log.info(`role ${opts.role}, instance ${opts.instanceId}, MongoDB ${redact(opts.mongoUrl)} database ${opts.database}, ` +
            `keeping ${opts.revisionsKept} revisions${opts.role === 'worker' ? `, revision check every ${opts.syncCheckSeconds} s` : ''}`);
        health.set('waiting-for-db');
        client = await connectWithBackoff(opts, log, isClosed);
        health.watch(client, opts.database);
        const c = await openCollections(client, opts, log, isClosed);
        const revisions = new Revisions({ collections: c, opts, log, isClosed });
        revisions.onFailure = (f) => {
            health.noteFailure(f);
            if (f.kind === 'malformed') log.error(`revision ${f.rev} cannot be loaded: ${f.reason}; skipped`);
        };
        health.onServing = (serving, reason) => events.serving(serving, reason);
        health.seenRev = () => revisions.highestSeen;
        const flows = new Flows({ revisions, health, events, opts, log, isClosed });
        parts = {
            revisions, flows,
            settings: settingsDocument(c, opts.role),
            sessions: sessionsDocument(c, opts.role),
            library: new Library(c.library),
            instances: c.instances,
            reloader: null,
        };
        if (runtime && runtime.events) {
            runtime.events.on('flows:started', (ev) => flows.started(ev));
            runtime.events.on('runtime-event', (ev) => {
                const payload = ev && ev.id === 'runtime-state' && ev.payload ? ev.payload : null;
                if (!payload) return;
                const problem = startProblem(payload);
                if (problem) flows.failed(problem);
                if (payload.error === 'credentials_load_failed') health.credentialsFailed = true;
            });
        }
        leadership = await setUpLeadership({ runtime, client, opts, health, log });
        health.set('loading');
        health.startRecording(c.instances, opts);
        // Every instance follows the revisions: workers to serve them, the editor to show what runs
        // (a rollback, a restore) and not deploy over it unknowingly.
        parts.reloader = new Reloader({ runtime, coll: c.flows, health, revisions, events, opts, log, isClosed });
        parts.reloader.onChange = () => flows.changed();
        revisions.numbering.following = () => parts.reloader.follower.period();
        flows.reloader = parts.reloader;
        if (opts.role === 'worker' && runtime && runtime.flows) {
            const partial = new PartialReloads({ runtime, revisions, health, flows, events, opts, log });
            partial.install();
            flows.partial = partial;
            parts.reloader.partial = partial;
        }
        if (pendingReload) parts.reloader.reloadFn = pendingReload;
        parts.reloader.start();
    }

    async function close() {
        if (closed) return;
        closed = true;
        if (parts) parts.flows.changed();
        if (parts) parts.revisions.numbering.close();
        if (parts && parts.reloader) await parts.reloader.close();
        if (leadership) await leadership.close();
        await health.stopRecording();
        health.unwatch();
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
        statusInfo: () => health.info(opts),
        revisionForHash: (hash) => {
            const found = parts ? parts.revisions.revisionForHash(hash) : null;
            return found ? found.rev : null;
        },
        // The database once connected (null before): the launcher keeps its debug messages there.
        database: () => (client && !closed ? client.db(opts.database) : null),
        events: events.emitter,
        // runDeploy({type, user}, fn): fn is the flows API call of a deploy of that type (Node-RED-Deployment-Type).
        runDeploy,
        // Why these flows cannot be stored exactly (a description naming the place), or null.
        storageProblem: (flowsToSave) => storageProblem(flowsToSave),
        // Why no deploy may be saved now (live workers on an older Node-RED: versions.js), or null.
        versionProblem: async () => (parts && opts.nodeRedVersion ? mixedVersionsProblem(parts.instances, opts.nodeRedVersion) : null),
        // The editor reloads its flows through this function (its flows API, which serializes with deploys).
        useReload: (fn) => {
            pendingReload = fn;
            if (parts && parts.reloader) parts.reloader.reloadFn = fn;
        },
        close,
    };
}

module.exports = { createStorage };
