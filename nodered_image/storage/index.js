'use strict';
// The storage module Node-RED loads (settings.storageModule). One instance per process; the extra
// functions (statusInfo, whenSwapped, isSwapping, hasStarted, setDrain, revisionForHash, close) are for the launcher's /healthz,
// request gating and shutdown. createStorage() gives independent instances (tests).
const { MongoStorage, RefusedError, flowsHash } = require('./lib/storage');

function createStorage() {
    const s = new MongoStorage();
    return {
        init: (settings, runtime) => s.init(settings, runtime),
        getFlows: () => s.getFlows(),
        saveFlows: (flows, user) => s.saveFlows(flows, user),
        getCredentials: () => s.getCredentials(),
        saveCredentials: (credentials) => s.saveCredentials(credentials),
        getSettings: () => s.getSettings(),
        saveSettings: (settings) => s.saveSettings(settings),
        getSessions: () => s.getSessions(),
        saveSessions: (sessions) => s.saveSessions(sessions),
        getLibraryEntry: (type, path) => s.getLibraryEntry(type, path),
        saveLibraryEntry: (type, path, meta, body) => s.saveLibraryEntry(type, path, meta, body),
        statusInfo: () => s.statusInfo(),
        whenSwapped: (timeoutMs) => s.whenSwapped(timeoutMs),
        isSwapping: () => s.swapping !== null,
        hasStarted: () => s.flowsStartedOnce,
        setDrain: (fn) => s.setDrain(fn),
        revisionForHash: (hash) => s.revisionForHash(hash),
        close: () => s.close(),
        impl: s,
    };
}

module.exports = createStorage();
module.exports.createStorage = createStorage;
module.exports.RefusedError = RefusedError;
module.exports.flowsHash = flowsHash;
