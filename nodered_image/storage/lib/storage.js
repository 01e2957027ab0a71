'use strict';
// createStorage(): one storage (index.js makes the process's own; tests make more). Wires the parts
// together at init and returns the object Node-RED and the launcher use; nothing else of it is reachable.
const { readOptions } = require('./options');
const { connectWithBackoff, redact } = require('./connect');
const { openCollections } = require('./collections');
const { consoleLog, runtimeLog } = require('./log');
const { refuse } = require('./refused');
const { Health } = require('./health');
const { FlowEvents } = require('./events');
const { Revisions } = require('./revisions');
const { Flows } = require('./flows');
const { Reloader } = require('./reloader');
const { Settings, Sessions } = require('./settings');
const { Library } = require('./library');
const { setUpLeadership } = require('./leadership');

function createStorage() {
    let log = consoleLog('[storage] ');
    let opts = null;
    let client = null;
    let closed = false;
    let parts = null; // {revisions, flows, settings, sessions, library, reloader} once connected
    let leadership = null; // run-once tabs and the leader lease (leadership.js)
    const isClosed = () => closed;
    const health = new Health(log);
    const events = new FlowEvents(log);

    async function init(settings, runtime) {
        log = runtimeLog(runtime, '[storage] ');
        health.log = log;
        events.log = log;
        opts = readOptions(settings);
        events.opts = opts;
        log.info(`role ${opts.role}, instance ${opts.instanceId}, MongoDB ${redact(opts.mongoUrl)} database ${opts.database}, ` +
            `keeping ${opts.revisionsKept} revisions${opts.role === 'worker' ? `, revision check every ${opts.syncCheckSeconds} s` : ''}`);
        health.set('waiting-for-db');
        client = await connectWithBackoff(opts, log, isClosed);
        health.watch(client);
        const c = await openCollections(client, opts, log);
        const revisions = new Revisions({ coll: c.flows, opts, log, isClosed });
        const flows = new Flows({ revisions, health, events, opts, log });
        parts = {
            revisions, flows,
            settings: new Settings(c.settings, opts.role),
            sessions: new Sessions(c.sessions, opts.role),
            library: new Library(c.library),
            reloader: null,
        };
        if (runtime && runtime.events) {
            runtime.events.on('flows:started', (ev) => flows.started(ev));
            runtime.events.on('runtime-event', (ev) => {
                const error = ev && ev.id === 'runtime-state' && ev.payload ? ev.payload.error : null;
                if (error === 'missing-types') flows.failed('missing node types');
                if (error === 'credentials_load_failed') health.credentialsFailed = true;
            });
        }
        leadership = await setUpLeadership({ runtime, client, opts, health, log });
        health.set('loading');
        health.startRecording(c.instances, opts);
        if (opts.role === 'worker') {
            parts.reloader = new Reloader({ runtime, coll: c.flows, health, revisions, events, opts, log, isClosed });
            flows.reloader = parts.reloader;
            parts.reloader.start();
        }
    }

    async function close() {
        if (closed) return;
        closed = true;
        if (parts && parts.reloader) await parts.reloader.close();
        if (leadership) await leadership.close();
        await health.stopRecording();
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
        // For the launcher: /healthz, the X-Flows-Revision header, the request gate, shutdown.
        statusInfo: () => health.info(opts),
        revisionForHash: (hash) => (parts ? parts.revisions.revisionForHash(hash) : null),
        events: events.emitter,
        close,
    };
}

module.exports = { createStorage };
