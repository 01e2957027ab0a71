'use strict';
// Options of the storage module, from settings.storageModuleOptions (settings.js fills them from the
// environment). Bad values throw with the option's name; the database's defaults are database.json's.
const { DEFAULTS } = require('../../common/database');
const { defaultInstanceId } = require('../../common/instance_id');

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
        database: o.database || DEFAULTS.database,
        instanceId: o.instanceId || defaultInstanceId(),
        host: o.host || os.hostname(),
        port: o.port || null,
        revisionsKept: Math.floor(positiveNumber(o.revisionsKept, 'revisionsKept', DEFAULTS.revisionsKept)),
        syncCheckSeconds: positiveNumber(o.syncCheckSeconds, 'syncCheckSeconds', 30),
        statusSeconds: positiveNumber(o.statusSeconds, 'statusSeconds', 10),
        statusTtlSeconds: Math.floor(positiveNumber(o.statusTtlSeconds, 'statusTtlSeconds', DEFAULTS.statusTtlSeconds)),
        reloadTimeoutSeconds: positiveNumber(o.reloadTimeoutSeconds, 'reloadTimeoutSeconds', 30),
        drainTimeoutMs: positiveNumber(o.drainTimeoutMs, 'drainTimeoutMs', 5000),
        tlsCAFile: o.tlsCAFile || null,
        enableChangeStreams: o.enableChangeStreams === true || o.enableChangeStreams === 'true',
        // Node-RED's own setting: revisions without credentials are handed over encrypted with it.
        credentialSecret: typeof settings.credentialSecret === 'string' ? settings.credentialSecret : null,
        // During a rotation of the credential key, the key before it (credential_key.js).
        previousCredentialSecret: typeof o.previousCredentialSecret === 'string' && o.previousCredentialSecret ? o.previousCredentialSecret : null,
        ...leaderOptions(o),
    };
}

// Which tabs run here (tabs.js; a worker runs all it may, the editor by default no run-once tab) and the
// timing of the leader lease (leader_lease.js): a takeover comes at most lease + 2 x check seconds after the
// leader's last renewal; a leader whose renewals fail stops its run-once tabs margin seconds before
// its lease could be taken over.
function leaderOptions(o) {
    const tabs = o.tabs || (o.role === 'editor' ? 'ordinary' : 'all');
    if (!['all', 'ordinary', 'none'].includes(tabs)) throw new Error(`storage option tabs must be all, ordinary or none, got ${JSON.stringify(o.tabs)}`);
    const lease = positiveNumber(o.leaderLeaseSeconds, 'leaderLeaseSeconds', 8);
    const renew = positiveNumber(o.leaderRenewSeconds, 'leaderRenewSeconds', 2);
    const check = positiveNumber(o.leaderCheckSeconds, 'leaderCheckSeconds', 1);
    const margin = positiveNumber(o.leaderStopMarginSeconds, 'leaderStopMarginSeconds', 3);
    if (renew >= lease - margin) {
        throw new Error(`storage option leaderRenewSeconds (${renew}) must be below leaderLeaseSeconds - leaderStopMarginSeconds (${lease - margin})`);
    }
    return { tabs, leaderLeaseSeconds: lease, leaderRenewSeconds: renew, leaderCheckSeconds: check, leaderStopMarginSeconds: margin };
}

module.exports = { readOptions, ROLES };
