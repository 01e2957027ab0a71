'use strict';
// GET <httpNodeRoot>/openapi.json on workers (NODE_RED_HTTP_OPENAPI=true): an OpenAPI 3 document of the
// HTTP-in endpoints of the revision this worker runs, made again after each deploy (cached per flow set).
// Per endpoint: its method, its path with Express's parameters as OpenAPI's (`/orders/:id` ->
// `/orders/{id}`), what the node's swaggerDoc says (node-red-node-swagger's swagger-doc config node, or an
// OpenAPI operation object written into the node), and the auth rule that applies to it (lib/api/auth.js)
// as its security requirement. The document sits behind the same auth as any path (its own rule).
// Listed: HTTP-in nodes that are not disabled, in tabs that are not disabled, or in a subflow some enabled
// instance uses. The editor refuses a flow with its own /openapi.json endpoint while this is on
// (lib/deploy_guard.js).

const DOCUMENT_PATH = '/openapi.json';
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
// Stands for a path parameter when finding an endpoint's rule: matches '*' and '**', no literal segment
// (rule paths have no control characters).
const ANY_SEGMENT = '\u0001';
const PARAM = /:(\w+)(?:\([^)]*\))?\??/g;

// Express path -> {path: OpenAPI path, params: [names], segments: for the auth rule}.
function openapiPath(url) {
    const params = [];
    let wildcards = 0;
    const parts = (url.startsWith('/') ? url : `/${url}`).split('/').slice(1);
    const segments = [];
    const path = parts.map((part) => {
        let dynamic = false;
        let text = part.replace(PARAM, (_, name) => {
            params.push(name);
            dynamic = true;
            return `{${name}}`;
        });
        text = text.replace(/\*/g, () => {
            wildcards += 1;
            const name = wildcards === 1 ? 'wildcard' : `wildcard${wildcards}`;
            params.push(name);
            dynamic = true;
            return `{${name}}`;
        });
        if (part !== '') segments.push(dynamic ? ANY_SEGMENT : part);
        return text;
    });
    return { path: `/${path.join('/')}`.replace(/\/$/, '') || '/', params, segments };
}

function list(value) {
    if (Array.isArray(value)) return value.map(String);
    return typeof value === 'string' && value.trim() !== '' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

const SCHEMA_KEYS = ['type', 'format', 'items', 'enum', 'default', 'minimum', 'maximum', 'pattern', 'minLength', 'maxLength'];

// A swagger-doc config node (Swagger 2 operation fields) into the OpenAPI 3 operation.
function applySwaggerDoc(op, doc) {
    if (doc.summary) op.summary = String(doc.summary);
    if (doc.description) op.description = String(doc.description);
    const tags = list(doc.tags);
    if (tags.length) op.tags = tags;
    if (doc.deprecated) op.deprecated = true;
    const consumes = list(doc.consumes);
    const produces = list(doc.produces);
    const form = { type: 'object', properties: {}, required: [] };
    for (const p of Array.isArray(doc.parameters) ? doc.parameters : []) {
        if (!p || typeof p !== 'object' || !p.name) continue;
        if (p.in === 'body') {
            const content = {};
            for (const type of consumes.length ? consumes : ['application/json']) content[type] = { schema: p.schema || {} };
            op.requestBody = { description: p.description || undefined, required: Boolean(p.required), content };
        } else if (p.in === 'formData') {
            form.properties[p.name] = Object.fromEntries(SCHEMA_KEYS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
            if (p.required) form.required.push(p.name);
        } else if (['query', 'header', 'path', 'cookie'].includes(p.in)) {
            const schema = Object.fromEntries(SCHEMA_KEYS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
            const param = { name: p.name, in: p.in, required: p.in === 'path' ? true : Boolean(p.required), schema };
            if (p.description) param.description = p.description;
            op.parameters = op.parameters.filter((q) => !(q.name === param.name && q.in === param.in));
            op.parameters.push(param);
        }
    }
    if (Object.keys(form.properties).length) {
        if (!form.required.length) delete form.required;
        op.requestBody = { content: { [consumes[0] || 'application/x-www-form-urlencoded']: { schema: form } } };
    }
    if (doc.responses && typeof doc.responses === 'object' && Object.keys(doc.responses).length) {
        op.responses = {};
        for (const [code, r] of Object.entries(doc.responses)) {
            const response = { description: (r && r.description) || '' };
            if (r && r.schema) {
                response.content = {};
                for (const type of produces.length ? produces : ['application/json']) response.content[type] = { schema: r.schema };
            }
            op.responses[code] = response;
        }
    }
}

function security(op, rule) {
    op.security = rule.type === 'none' ? [] : [{ [rule.type]: [] }];
    op['x-nodered-scale-auth'] = { rule: rule.path, type: rule.type, ...(rule.names ? { names: [...rule.names] } : {}) };
}

// The nodes of `flows` that make routes: HTTP-in nodes not disabled, in an enabled tab or a used subflow.
function runningHttpIn(flows) {
    const enabledTabs = new Set(flows.filter((n) => n.type === 'tab' && !n.disabled).map((n) => n.id));
    const live = new Set(enabledTabs); // tabs, and subflows an enabled node instantiates
    for (let grew = true; grew;) {
        grew = false;
        for (const n of flows) {
            const m = typeof n.type === 'string' && /^subflow:(.+)$/.exec(n.type);
            if (m && !n.d && live.has(n.z) && !live.has(m[1])) {
                live.add(m[1]);
                grew = true;
            }
        }
    }
    return flows.filter((n) => n.type === 'http in' && !n.d && live.has(n.z) && typeof n.url === 'string' && n.url !== ''
        && METHODS.has(n.method));
}

function buildDocument({ flows, rev, httpNodeRoot, auth }) {
    const configs = new Map(flows.map((n) => [n.id, n]));
    const ruleOf = (segments) => (auth ? auth.ruleForPath(segments.length ? `/${segments.join('/')}` : '')
        : { path: null, type: 'none', names: null });
    const paths = {};
    const used = new Set();
    const add = (path, method, op, segments) => {
        const rule = ruleOf(segments);
        if (rule.type !== 'none') used.add(rule.type);
        security(op, rule);
        paths[path] = paths[path] || {};
        if (!paths[path][method]) paths[path][method] = op;
    };
    for (const node of runningHttpIn(flows)) {
        const { path, params, segments } = openapiPath(node.url);
        const op = {
            operationId: `${node.method}-${node.id}`,
            summary: node.name || `${node.method.toUpperCase()} ${node.url}`,
            parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
            responses: { default: { description: "the flow's answer" } },
        };
        const doc = typeof node.swaggerDoc === 'string' ? configs.get(node.swaggerDoc) : node.swaggerDoc;
        if (doc && typeof doc === 'object') {
            if (doc.type === 'swagger-doc') applySwaggerDoc(op, doc);
            else Object.assign(op, doc);
        }
        if (!op.parameters.length) delete op.parameters;
        add(path, node.method, op, segments);
    }
    add(DOCUMENT_PATH, 'get', {
        operationId: 'openapi-document',
        summary: 'this document',
        responses: { 200: { description: 'OpenAPI 3 document of the running revision', content: { 'application/json': {} } } },
    }, [DOCUMENT_PATH.slice(1)]);
    const schemes = { basic: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer' } };
    return {
        openapi: '3.0.3',
        info: { title: 'Node-RED flows', version: String(rev ?? 'unknown'), 'x-nodered-scale-revision': rev ?? null },
        servers: [{ url: httpNodeRoot }],
        paths: Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]])),
        components: { securitySchemes: Object.fromEntries([...used].sort().map((t) => [t, schemes[t]])) },
    };
}

class OpenApi {
    constructor({ RED, storage, httpNodeRoot, auth }) {
        this.RED = RED;
        this.storage = storage;
        this.httpNodeRoot = httpNodeRoot;
        this.auth = auth;
        this.cached = null; // {active, text}: the document of the flow set Node-RED runs
    }

    text() {
        const active = this.RED.nodes.getFlows();
        if (!this.cached || this.cached.active !== active) {
            const doc = buildDocument({
                flows: (active && Array.isArray(active.flows)) ? active.flows : [],
                rev: this.storage.statusInfo().rev,
                httpNodeRoot: this.httpNodeRoot,
                auth: this.auth,
            });
            this.cached = { active, text: JSON.stringify(doc) };
        }
        return this.cached.text;
    }

    // Express middleware under httpNodeRoot, after auth and the gate (a swap ends before it answers).
    middleware() {
        return (req, res, next) => {
            if (req.path !== DOCUMENT_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
                next();
                return;
            }
            res.type('application/json').send(this.text());
        };
    }
}

// True when an HTTP-in url is the document's own path (as Express would route it: any case, trailing '/').
function isDocumentPath(url) {
    if (typeof url !== 'string') return false;
    const u = (url.startsWith('/') ? url : `/${url}`).replace(/\/$/, '').toLowerCase();
    return u === DOCUMENT_PATH;
}

module.exports = { OpenApi, buildDocument, openapiPath, isDocumentPath, DOCUMENT_PATH };
