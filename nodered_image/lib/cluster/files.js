'use strict';
// Flows from files (docs/flows-as-code.md) on the cluster API: what they would change on this stack
// (POST /cluster/diff) and their deploy as a new revision (POST /cluster/deploy). The body is what
// `python -m nodered_status export` wrote, read back: {flows, credentials, message?}, credentials being the
// index's outline ({node id: {property: "stored" | "${NAME}"}}: never a secret value).
//
// Both check the flows first and refuse them with 400, nothing saved, naming the nodes (`nodes` in the
// answer: the status command names their files): a node that is no object with a string id and type, an
// id used twice, a node carrying credentials, a `z` that names no tab or subflow, a wire to a node that
// does not exist; the deploy guard then refuses node types the image lacks, and flows MongoDB cannot hold.
const { diff, summary, same } = require('./diff');
const { readFlows, documentProblem } = require('../../storage/lib/revision_doc');
const { isPlainObject } = require('../../storage/lib/codec');
const { STORED, isReference, storedCredentials, plan } = require('./credentials');

const FIELDS = ['flows', 'credentials', 'message'];
const MAX_MESSAGE = 1000;
const MAX_ID = 200;
const MAX_LISTED = 20; // nodes named in one refusal

class FlowsRefused extends Error {
    constructor(message, nodes) {
        super(message);
        this.nodes = nodes;
    }
}

const show = (v) => JSON.stringify(String(v).slice(0, 60));

function refuse(problems) {
    const shown = problems.slice(0, MAX_LISTED).map((p) => p.why);
    const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
    throw new FlowsRefused(`flows refused, nothing saved: ${shown.join('; ')}${more}`, [...new Set(problems.map((p) => p.id).filter((id) => id !== null))]);
}

// The flows of a body: every node an object with a string id and type, each id once, no credentials on
// a node, every z a tab or subflow, every wire to a node that exists.
function checkFlows(flows) {
    if (!Array.isArray(flows)) refuse([{ id: null, why: 'flows must be an array of nodes' }]);
    const problems = [];
    const ids = new Map();
    flows.forEach((n, i) => {
        if (!isPlainObject(n)) return problems.push({ id: null, why: `node ${i + 1} is no JSON object` });
        if (typeof n.id !== 'string' || n.id === '' || n.id.length > MAX_ID) {
            return problems.push({ id: null, why: `node ${i + 1} has no id (a string of 1 to ${MAX_ID} characters)` });
        }
        if (typeof n.type !== 'string' || n.type === '') problems.push({ id: n.id, why: `node ${show(n.id)} has no type` });
        if (ids.has(n.id)) problems.push({ id: n.id, why: `node id ${show(n.id)} is used twice (nodes ${ids.get(n.id) + 1} and ${i + 1})` });
        else ids.set(n.id, i);
        if (Object.hasOwn(n, 'credentials')) {
            problems.push({ id: n.id, why: `node ${show(n.id)} carries credentials: they stay in each stack (the index says which it needs)` });
        }
    });
    const containers = new Set(flows.filter((n) => isPlainObject(n) && (n.type === 'tab' || n.type === 'subflow')).map((n) => n.id));
    for (const n of flows) {
        if (!isPlainObject(n) || typeof n.id !== 'string') continue;
        if (n.z !== undefined && n.z !== '' && !containers.has(n.z)) {
            problems.push({ id: n.id, why: `node ${show(n.id)} sits on z ${show(n.z)}, which is no tab or subflow of these flows` });
        }
        if (n.wires === undefined) continue;
        const outputs = Array.isArray(n.wires) ? n.wires : null;
        if (!outputs || !outputs.every((o) => Array.isArray(o) && o.every((t) => typeof t === 'string'))) {
            problems.push({ id: n.id, why: `node ${show(n.id)} has wires that are no list of lists of node ids` });
            continue;
        }
        for (const target of outputs.flat()) {
            if (!ids.has(target)) problems.push({ id: n.id, why: `node ${show(n.id)} is wired to ${show(target)}, which does not exist` });
        }
    }
    if (problems.length) refuse(problems);
}

// The index's credentials: per node of the flows, properties that are "stored" or an environment reference.
function checkCredentials(credentials, flows) {
    if (credentials === undefined) return {};
    if (!isPlainObject(credentials)) refuse([{ id: null, why: 'credentials must be an object: {node id: {property: "stored" or "${NAME}"}}' }]);
    const ids = new Set(flows.map((n) => n.id));
    const problems = [];
    for (const [id, props] of Object.entries(credentials)) {
        if (!ids.has(id)) {
            problems.push({ id, why: `credentials name node ${show(id)}, which is not in the flows` });
        } else if (!isPlainObject(props)) {
            problems.push({ id, why: `credentials of node ${show(id)} must be an object of properties` });
        } else {
            for (const [prop, value] of Object.entries(props)) {
                if (value !== STORED && !isReference(value)) {
                    problems.push({ id, why: `credential ${show(prop)} of node ${show(id)} must be "stored" or an environment reference "\${NAME}": a value would put a secret in the files` });
                }
            }
        }
    }
    if (problems.length) refuse(problems);
    return credentials;
}

// {flows, credentials, message} of a request body, or a FlowsRefused / a TypeError-free 400 reason.
function readBody(body, { withMessage }) {
    if (!isPlainObject(body)) refuse([{ id: null, why: 'the body must be a JSON object: {"flows": [...], "credentials": {...}}' }]);
    const allowed = withMessage ? FIELDS : FIELDS.filter((f) => f !== 'message');
    const extra = Object.keys(body).filter((k) => !allowed.includes(k));
    if (extra.length) refuse([{ id: null, why: `unknown field ${show(extra[0])} (the body takes: ${allowed.join(', ')})` }]);
    if (!Object.hasOwn(body, 'flows')) refuse([{ id: null, why: 'the body has no flows' }]);
    checkFlows(body.flows);
    const credentials = checkCredentials(body.credentials, body.flows);
    const message = body.message === undefined ? null : body.message;
    // eslint-disable-next-line no-control-regex -- a message is one line of text, shown in the history
    if (message !== null && (typeof message !== 'string' || message.length > MAX_MESSAGE || /[\u0000-\u001f\u007f]/.test(message))) {
        refuse([{ id: null, why: `message must be one line of text, at most ${MAX_MESSAGE} characters` }]);
    }
    return { flows: body.flows, credentials, message };
}

// How a node is named where credentials are listed (as diff.js names it).
function described(node, properties) {
    const text = (v) => (typeof v === 'string' && v !== '' ? v : null);
    return { id: node.id, type: node.type, name: text(node.type === 'tab' ? node.label : node.name), z: text(node.z), properties };
}

class FileDeploys {
    // reads: ClusterReads; deployFiles, unlocked, checkFlows: the deploy guard's (lib/deploy_guard.js);
    // credentialSecret: the stack's, to read stored credentials.
    constructor({ reads, deployFiles, unlocked, checkFlows, credentialSecret }) {
        this.reads = reads;
        this.deployFiles = deployFiles;
        this.unlocked = unlocked;
        this.checkFlows = checkFlows;
        this.credentialSecret = credentialSecret;
    }

    // The newest revision (null: none yet) and what the files would change on it.
    async compare({ flows, credentials }) {
        const { newest } = await this.reads.snapshot();
        const doc = newest ? await this.reads.revision(newest._id) : null;
        const usable = doc && !documentProblem(doc) ? doc : null;
        const running = usable ? readFlows(usable).flows : [];
        const stored = usable ? storedCredentials(usable, this.credentialSecret) : {};
        const d = diff({ flowsJson: JSON.stringify(running), credentials: null }, { flowsJson: JSON.stringify(flows), credentials: null });
        const creds = plan(credentials, stored);
        d.credentialsChanged = creds.changed;
        const sameFlows = same(running, flows);
        const byId = new Map(flows.map((n) => [n.id, n]));
        return {
            newest: doc, problem: doc && !usable ? documentProblem(doc) : null, changes: d, creds,
            same: Boolean(usable) && sameFlows && !creds.changed,
            orderChanged: !sameFlows && summary(d) === 'no changes',
            credentialsMissing: Object.entries(creds.lacking).map(([id, props]) => described(byId.get(id), props)),
        };
    }

    // POST /cluster/diff: what deploying these files would change.
    async diff(body) {
        const files = readBody(body, { withMessage: false });
        this.checkFlows(files.flows); // node types the image lacks, flows MongoDB cannot hold: as a deploy would
        const c = await this.compare(files);
        return [200, this.answer(c)];
    }

    answer(c) {
        return {
            from: c.newest ? { rev: c.newest._id, problem: c.problem } : null,
            same: c.same, summary: summary(c.changes) + (c.orderChanged ? ', order of nodes changed' : ''),
            orderChanged: c.orderChanged, ...c.changes, credentialsMissing: c.credentialsMissing,
        };
    }

    // POST /cluster/deploy: a new revision with these flows, saved by `user`, unless the newest revision
    // holds them already (200, nothing saved).
    async deploy(body, user) {
        this.unlocked(user); // a locked stack says so before anything else, unchanged flows included
        const files = readBody(body, { withMessage: true });
        const c = await this.compare(files);
        if (c.same) return [200, { rev: c.newest._id, saved: false, ...this.answer(c) }];
        const flows = files.flows.map((n) => (c.creds.write[n.id] ? { ...n, credentials: c.creds.write[n.id] } : n));
        const fields = { credentialsMissing: c.credentialsMissing };
        if (files.message !== null) fields.message = files.message;
        const rev = await this.deployFiles({ flows, user, fields });
        return [201, { rev, saved: true, savedBy: user && user.username ? String(user.username) : null, ...this.answer(c) }];
    }
}

module.exports = { FileDeploys, FlowsRefused, readBody };
