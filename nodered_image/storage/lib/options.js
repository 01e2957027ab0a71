'use strict';
// Options of the storage module, from settings.storageModuleOptions (settings.js fills them from the
// environment). Bad values throw with the option's name.

const ROLES = ['editor', 'worker'];

function positiveNumber(value, name, dflt) {
    if (value === undefined || value === null || value === '') return dflt;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`storage option ${name} must be a positive number, got ${JSON.stringify(value)}`);
    return n;
}

function readOptions(settings) {
    const o = (settings && settings.storageModuleOptions) || {};
    if (!ROLES.includes(o.role)) throw new Error(`storage option role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(o.role)}`);
    if (!o.mongoUrl) throw new Error('storage option mongoUrl is required (the MongoDB connection string)');
    const os = require('os');
    return {
        role: o.role,
        mongoUrl: o.mongoUrl,
        database: o.database || 'nodered',
        instanceId: o.instanceId || `${os.hostname()}-${process.pid}`,
        host: o.host || os.hostname(),
        port: o.port || null,
        revisionsKept: Math.floor(positiveNumber(o.revisionsKept, 'revisionsKept', 20)),
        syncCheckSeconds: positiveNumber(o.syncCheckSeconds, 'syncCheckSeconds', 30),
        statusSeconds: positiveNumber(o.statusSeconds, 'statusSeconds', 5),
        statusTtlSeconds: Math.floor(positiveNumber(o.statusTtlSeconds, 'statusTtlSeconds', 60)),
        reloadTimeoutSeconds: positiveNumber(o.reloadTimeoutSeconds, 'reloadTimeoutSeconds', 30),
        drainTimeoutMs: positiveNumber(o.drainTimeoutMs, 'drainTimeoutMs', 5000),
        tlsCAFile: o.tlsCAFile || null,
        enableChangeStreams: o.enableChangeStreams === true || o.enableChangeStreams === 'true',
        // Node-RED's own setting: revisions without credentials are handed over encrypted with it.
        credentialSecret: typeof settings.credentialSecret === 'string' ? settings.credentialSecret : null,
    };
}

module.exports = { readOptions, ROLES };
