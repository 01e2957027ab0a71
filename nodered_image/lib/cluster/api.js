'use strict';
// The cluster API, on the editor's admin app under /cluster (docs/cluster.md): JSON in and out, behind
// Node-RED's own login and permissions: `cluster.read` to look, `cluster.write` to change (Node-RED's
// `read` scope includes every `*.read`; `*` includes everything), `cluster.audit` to read the audit trail
// (admins only: it names every user and the address they came from).
//
//   GET  /cluster/status                 every instance, the newest revision, whether every worker serves it
//   GET  /cluster/revisions              the kept revisions as `python -m nodered_status history` lists them
//   GET  /cluster/revisions/{rev}        that revision's flows (never its credentials)
//   GET  /cluster/diff?from=A&to=B       what changed from A to B (diff.js)
//   POST /cluster/rollback {"rev": N}    a new revision with N's flows and credentials (201, {rev, ...})
//   POST /cluster/diff {flows, ...}      what deploying flows from files would change (files.js)
//   POST /cluster/deploy {flows, ...}    a new revision with flows from files (201; 200 when unchanged)
//   GET  /cluster/audit?since=...        the audit trail since a time or an age (lib/access/audit.js)
//
// Every refusal is JSON ({error, requestId}, lib/refuse.js): 401 not logged in, 403 logged in without the
// permission, 400 a malformed query or body, 404 no such revision (or path), 405 a method the path does
// not take, 409 a revision that cannot be loaded (or a deploy while the flows are locked to their source,
// lib/flows_lock.js), 415 a body that is not JSON, 503 MongoDB not answering.
const express = require('express');
const { report } = require('./report');
const { historyRows } = require('./history');
const { diff } = require('./diff');
const { readFlows, documentProblem } = require('../../storage/lib/revision_doc');
const { DEFAULTS } = require('../../common/database');
const { within, TIMED_OUT } = require('../../common/within');
const { FileDeploys, FlowsRefused } = require('./files');
const { CredentialsUnreadable, storedCredentials, outline } = require('./credentials');
const { DeployRefused } = require('../deploy_guard');

const REVISION_NUMBER = /^[1-9][0-9]{0,15}$/;
const SECONDS = /^[0-9]{1,9}(\.[0-9]{1,6})?$/;
const MAX_LIMIT = 1000;
const MAX_AUDIT = 10000;
const AGE = /^([1-9][0-9]{0,5})([smhd])$/;
const TIME = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const UNIT_MS = { s: 1000, m: 60000, h: 3600000, d: 86400000 };
const DB_DEADLINE_MS = 10000; // a MongoDB that stops answering is a 503 after this, never a hung request

class Refused extends Error {
    constructor(status, message, headers = {}) {
        super(message);
        this.status = status;
        this.headers = headers;
    }
}

// A whole number from 1 the storage can hold (a safe integer), from a query or path string.
function revisionNumber(value, name) {
    if (typeof value !== 'string' || !REVISION_NUMBER.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new Refused(400, `${name} must be a revision number (a whole number from 1), got ${JSON.stringify(String(value).slice(0, 40))}`);
    }
    return Number(value);
}

// The query may hold these names only, each once.
function query(req, allowed) {
    const out = {};
    for (const [k, v] of Object.entries(req.query)) {
        if (!allowed.includes(k)) throw new Refused(400, `unknown query parameter ${JSON.stringify(k.slice(0, 40))} (takes: ${allowed.join(', ') || 'none'})`);
        if (typeof v !== 'string') throw new Refused(400, `query parameter ${k} must be given once, as a plain value`);
        out[k] = v;
    }
    return out;
}

function staleAfter(q) {
    if (q.staleAfter === undefined) return DEFAULTS.staleAfterSeconds;
    const n = Number(q.staleAfter);
    if (!SECONDS.test(q.staleAfter) || !(n > 0)) throw new Refused(400, 'staleAfter must be a positive number of seconds');
    return n;
}

function limit(q) {
    if (q.limit === undefined) return DEFAULTS.revisionsKept;
    const n = Number(q.limit);
    if (!/^[0-9]{1,4}$/.test(q.limit) || n < 1 || n > MAX_LIMIT) throw new Refused(400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    return n;
}

// `since`: a time with its zone (2026-12-01T00:00Z), a date (UTC midnight) or an age (30m, 24h, 7d); default 24h.
function since(q, now = Date.now()) {
    const text = q.since === undefined ? '24h' : q.since;
    const age = AGE.exec(text);
    if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2]]);
    const time = TIME.exec(text);
    const at = time ? new Date(text) : null;
    if (!at || Number.isNaN(at.getTime()) || (!time[2] && at.toISOString().slice(0, 10) !== time[1])) {
        throw new Refused(400, `since must be a time with its zone (2026-12-01T00:00Z), a date (2026-12-01) or an age (30m, 24h, 7d), got ${JSON.stringify(text.slice(0, 40))}`);
    }
    return at;
}

function auditLimit(q) {
    if (q.limit === undefined) return 1000;
    const n = Number(q.limit);
    if (!/^[0-9]{1,5}$/.test(q.limit) || n < 1 || n > MAX_AUDIT) throw new Refused(400, `limit must be a whole number from 1 to ${MAX_AUDIT}`);
    return n;
}

const withDeadline = async (promise) => {
    const value = await within(promise, DB_DEADLINE_MS);
    if (value === TIMED_OUT) throw new Refused(503, `MongoDB did not answer within ${DB_DEADLINE_MS / 1000} s`);
    return value;
};

// Summary fields of a revision document, as JSON.
function about(doc) {
    const iso = (d) => (d instanceof Date ? d.toISOString() : null);
    const pick = (k) => (doc[k] === undefined ? null : doc[k]);
    return {
        rev: doc._id, savedAt: iso(doc.savedAt), savedBy: pick('savedBy'), deployType: pick('deployType'),
        rollbackOf: pick('rollbackOf'), nodeRedVersion: pick('nodeRedVersion'), restarts: doc.restarts || 0,
        message: pick('message'),
    };
}

function withoutCredentials(node) {
    const { credentials, ...rest } = node; // eslint-disable-line no-unused-vars
    return rest;
}

class ClusterApi {
    // reads: ClusterReads; authorize(permission): Node-RED's check as middleware (index.js); refusals:
    // lib/refuse.js; actions: where a change is recorded (actions.js); deploys: what the deploy guard
    // returns (lib/deploy_guard.js); credentialSecret: the stack's; lock: a FlowsLock or null; audit: the
    // audit trail GET /audit reads (lib/access/audit.js), or null.
    constructor({ reads, authorize, refusals, actions, deploys, credentialSecret, lock = null, audit = null }) {
        this.reads = reads;
        this.audit = audit;
        this.refusals = refusals;
        this.actions = actions;
        this.credentialSecret = credentialSecret;
        this.lock = lock;
        this.files = new FileDeploys({ reads, ...deploys, credentialSecret });
        const r = express.Router({ caseSensitive: true, strict: true });
        const read = authorize('cluster.read');
        const write = authorize('cluster.write');
        const json = (fn) => (req, res, next) => this.answer(req, res, fn).catch(next);
        // Logged in at all, before anything else (401), then the permission each route needs (403).
        r.use(authorize(''));
        r.get('/status', read, json((req) => this.status(req)));
        r.get('/revisions', read, json((req) => this.revisions(req)));
        r.get('/revisions/:rev', read, json((req) => this.revision(req)));
        r.get('/diff', read, json((req) => this.diff(req)));
        r.post('/rollback', write, json((req) => this.rollback(req)));
        r.post('/diff', read, json((req) => this.filesDiff(req)));
        r.post('/deploy', write, json((req) => this.filesDeploy(req)));
        r.get('/audit', authorize('cluster.audit'), json((req) => this.auditTrail(req)));
        const methods = { '/status': 'GET', '/revisions': 'GET', '/diff': 'GET, POST', '/rollback': 'POST', '/deploy': 'POST', '/audit': 'GET' };
        r.use((req, res) => {
            const allow = methods[req.path] || (/^\/revisions\/[^/]+$/.test(req.path) ? 'GET' : null);
            if (allow) this.refuse(req, res, new Refused(405, `${req.method} is not allowed here (allowed: ${allow})`, { Allow: allow }));
            else this.refuse(req, res, new Refused(404, 'no such cluster API path (see docs/cluster.md)'));
        });
        this.router = r;
    }

    async answer(req, res, fn) {
        try {
            const [status, body] = await withDeadline(fn(req));
            res.status(status).set('Cache-Control', 'no-store').json(body);
        } catch (err) {
            if (err instanceof Refused) return this.refuse(req, res, err);
            if (err instanceof FlowsRefused || err instanceof DeployRefused) {
                const status = err.status || 400;
                return this.refusals.answer(req, res, status, err.message, {
                    headers: { 'Cache-Control': 'no-store' }, extra: { code: err.code || 'invalid_flows', nodes: err.nodes || [] } });
            }
            if (err instanceof CredentialsUnreadable) return this.refuse(req, res, new Refused(409, `cannot read this stack's stored credentials: ${err.message}`));
            if (err && err.name === 'NotConnected') return this.refuse(req, res, new Refused(503, err.message));
            if (err && /^Mongo/.test(err.name || '')) return this.refuse(req, res, new Refused(503, `cannot use MongoDB: ${err.message}`));
            throw err;
        }
    }

    refuse(req, res, err) {
        this.refusals.answer(req, res, err.status, err.message, { headers: { 'Cache-Control': 'no-store', ...err.headers } });
    }

    async status(req) {
        const q = query(req, ['staleAfter']);
        const snap = await this.reads.snapshot();
        return [200, report({ ...snap, staleAfter: staleAfter(q) })];
    }

    async revisions(req) {
        const q = query(req, ['limit', 'staleAfter']);
        const n = limit(q);
        const after = staleAfter(q);
        const found = await this.reads.revisions(n);
        return [200, { staleAfterSeconds: after, ...historyRows({ ...found, limit: n, staleAfter: after }) }];
    }

    // A revision document that exists and can be loaded, or the refusal saying why not.
    async loadable(rev) {
        const doc = await this.reads.revision(rev);
        if (!doc) throw new Refused(404, await this.reads.missing(rev));
        const problem = documentProblem(doc);
        if (problem) throw new Refused(409, `revision ${rev} cannot be loaded: ${problem}`);
        return doc;
    }

    async revision(req) {
        query(req, []);
        const doc = await this.loadable(revisionNumber(req.params.rev, 'the revision'));
        // Node-RED keeps credentials out of the flows; a node that carries some anyway loses them here.
        const flows = readFlows(doc).flows.map((n) => (Object.hasOwn(n, 'credentials') ? withoutCredentials(n) : n));
        // Which nodes have credentials, and which of those are environment references: never a value.
        let credentials = null;
        let credentialsProblem = null;
        try {
            credentials = outline(flows, storedCredentials(doc, this.credentialSecret));
        } catch (err) {
            if (!(err instanceof CredentialsUnreadable)) throw err;
            credentialsProblem = err.message;
        }
        return [200, { ...about(doc), flows, credentials, credentialsProblem }];
    }

    // A JSON body, or 415.
    jsonBody(req, shape) {
        query(req, []);
        if (!req.is('application/json')) throw new Refused(415, `send a JSON body: ${shape}`);
        return req.body;
    }

    async filesDiff(req) {
        return this.files.diff(this.jsonBody(req, '{"flows": [...], "credentials": {...}}'));
    }

    async filesDeploy(req) {
        const body = this.jsonBody(req, '{"flows": [...], "credentials": {...}, "message": "..."}');
        const by = req.user && req.user.username ? String(req.user.username) : 'editor';
        const [status, answer] = await this.files.deploy(body, req.user);
        if (answer.saved) this.actions.record({ action: 'deploy', user: by, rev: answer.rev, summary: answer.summary, message: body.message || null }, req);
        return [status, answer];
    }

    async diff(req) {
        const q = query(req, ['from', 'to']);
        if (q.from === undefined || q.to === undefined) throw new Refused(400, 'give both revisions: ?from=A&to=B');
        const from = revisionNumber(q.from, 'from');
        const to = revisionNumber(q.to, 'to');
        const older = await this.loadable(from);
        const newer = await this.loadable(to);
        return [200, { from: about(older), to: about(newer), ...diff(older, newer) }];
    }

    async rollback(req) {
        query(req, []);
        if (!req.is('application/json')) throw new Refused(415, 'send a JSON body: {"rev": N}');
        const body = req.body;
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Refused(400, 'the body must be a JSON object: {"rev": N}');
        const extra = Object.keys(body).filter((k) => k !== 'rev');
        if (extra.length) throw new Refused(400, `unknown field ${JSON.stringify(extra[0].slice(0, 40))}: the body is {"rev": N}`);
        if (!Number.isSafeInteger(body.rev) || body.rev < 1) {
            throw new Refused(400, `rev must be a revision number (a whole number from 1), got ${JSON.stringify(body.rev === undefined ? null : body.rev).slice(0, 40)}`);
        }
        const by = req.user && req.user.username ? String(req.user.username) : 'editor';
        const done = await this.reads.rollback(body.rev, by);
        if (done.missing) throw new Refused(404, done.missing);
        if (done.problem) throw new Refused(409, done.problem);
        const saved = { rev: done.rev, rollbackOf: body.rev, savedBy: by, savedAt: done.savedAt.toISOString() };
        this.actions.record({ action: 'rollback', user: by, ...saved, lockedTo: this.lock ? this.lock.source : null }, req);
        return [201, saved];
    }

    async auditTrail(req) {
        const q = query(req, ['since', 'limit']);
        const from = since(q);
        const n = auditLimit(q);
        if (!this.audit) throw new Refused(404, 'this editor keeps no audit trail');
        const found = await this.audit.list({ since: from, limit: n });
        return [200, { since: from.toISOString(), now: new Date().toISOString(), limit: n, ...found }];
    }
}

module.exports = { ClusterApi, Refused, revisionNumber };
