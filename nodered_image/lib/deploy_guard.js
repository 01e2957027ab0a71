'use strict';
// The editor's deploys, checked before Node-RED takes them. Node-RED's editor only warns about node
// types it does not know, and its admin API takes them silently; flows saved like that stop every
// worker's flows. So every flows API call that saves (POST /flows, POST /flow, PUT /flow/:id) is
// refused with 400 and nothing saved when
//   - a node's type is one this image does not have (the answer names the types and nodes), or
//   - a function node names an npm module the image has not baked for function nodes (the answer names the
//     modules and image.functionModules; lib/function_modules.js): Node-RED installs nothing at run time,
//     so those flows could not start on any instance, or
//   - an HTTP-in node takes <httpNodeRoot>/openapi.json while the workers serve the API document there
//     (NODE_RED_HTTP_OPENAPI; lib/api/openapi.js), or
//   - the flows hold what MongoDB cannot give back exactly (a "__proto__" field, a lone UTF-16
//     surrogate, nesting deeper than MongoDB keeps: storage's storageProblem names the place).
// And while a live worker runs an older Node-RED release line than the editor (a rolling update under way:
// storage's deployProblems, storage/lib/versions.js), every deploy that saves is refused the same way:
// flows saved by the newer editor may not run on the older workers; likewise while a live worker runs another
// credential key (a key rotation under way: storage/lib/credential_key.js).
// The check runs inside Node-RED's flows API (after login and permissions, before the runtime
// touches its flows or credentials), by wrapping RED.runtime.flows' methods; the answer is Node-RED's
// own error shape, {code, message}.
//
// It also tells the storage which deploy each call is (runDeploy: the Node-RED-Deployment-Type, the
// user), so a revision records its deploy type and "restart flows" (type reload) reaches every
// instance; and it hands the storage the editor's way to reload flows when a revision written
// elsewhere (a rollback) must be loaded: through this same API, which serializes with deploys.
//
// A stack whose flows come from files (lib/flows_lock.js) refuses every deploy that saves with 409 naming
// the source; a restart (type reload) still runs. deployFiles, the cluster API's deploy of flows from files
// (POST /cluster/deploy), runs the same checks and lock, recorded as deploy type "files".

const { missingModules } = require('./function_modules');
const { isDocumentPath, DOCUMENT_PATH } = require('./api/openapi');

const SUBFLOW_INSTANCE = /^subflow:(.+)$/;
const CONTAINERS = new Set(['tab', 'subflow', 'group']);

class DeployRefused extends Error {
    // nodes: ids of the nodes the refusal is about (for a caller that can say where they are).
    constructor(code, message, { status = 400, nodes = [] } = {}) {
        super(message);
        this.code = code;
        this.status = status;
        this.nodes = nodes;
    }
}

// The nodes of a single-flow API body ({id, nodes, configs, subflows}) as one list.
function nodesOfFlow(flow) {
    if (!flow || typeof flow !== 'object') return [];
    const list = [];
    for (const part of ['nodes', 'configs']) if (Array.isArray(flow[part])) list.push(...flow[part]);
    for (const sf of Array.isArray(flow.subflows) ? flow.subflows : []) {
        list.push(sf);
        for (const part of ['nodes', 'configs']) if (sf && Array.isArray(sf[part])) list.push(...sf[part]);
    }
    return list;
}

// {type -> [node ids]} of the types in `nodes` this runtime cannot create. knownSubflows: subflow ids
// defined elsewhere (the running flows, for a single-flow call).
function missingTypes(RED, nodes, knownSubflows = new Set()) {
    const subflows = new Set(knownSubflows);
    for (const n of nodes) if (n && n.type === 'subflow') subflows.add(n.id);
    const missing = new Map();
    for (const n of nodes) {
        if (!n || typeof n !== 'object') continue;
        const type = n.type;
        if (CONTAINERS.has(type)) continue;
        const sub = typeof type === 'string' ? SUBFLOW_INSTANCE.exec(type) : null;
        const known = sub ? subflows.has(sub[1]) : typeof type === 'string' && type !== '' && Boolean(RED.nodes.getType(type));
        if (known) continue;
        const name = typeof type === 'string' ? type : `(${type === undefined ? 'no type' : JSON.stringify(type)})`;
        if (!missing.has(name)) missing.set(name, []);
        missing.get(name).push(n.id);
    }
    return missing;
}

function listIds(ids) {
    const shown = ids.slice(0, 5).map((id) => JSON.stringify(id)).join(', ');
    return ids.length > 5 ? `${shown} and ${ids.length - 5} more` : shown;
}

const listed = (missing) => [...missing.keys()].map((t) => `${JSON.stringify(t)} (node${missing.get(t).length > 1 ? 's' : ''} ${listIds(missing.get(t))})`);

// options: functionModules (the names function nodes may use, besides Node.js's own), openapi (the
// workers serve the API document).
function check(RED, storage, options, nodes, knownSubflows, whole = nodes) {
    if (!Array.isArray(nodes)) return; // Node-RED answers malformed bodies itself
    const missing = missingTypes(RED, nodes, knownSubflows);
    if (missing.size > 0) {
        throw new DeployRefused('missing_node_types',
            `deploy refused, nothing saved: node types this image does not have: ${listed(missing).join(', ')}. ` +
            'Remove those nodes, or add their module to the image (EXTRA_NODES).', { nodes: [...missing.values()].flat() });
    }
    const modules = missingModules(nodes, options.functionModules || new Set());
    if (modules.size > 0) {
        throw new DeployRefused('missing_function_modules',
            `deploy refused, nothing saved: function nodes use npm modules this image does not have: ${listed(modules).join(', ')}. ` +
            'Bake them into the image with the stack config image.functionModules (nothing is installed at run time), or remove them from the nodes\' Setup tab.',
            { nodes: [...modules.values()].flat() });
    }
    if (options.openapi) {
        const own = nodes.filter((n) => n && n.type === 'http in' && !n.d && isDocumentPath(n.url)).map((n) => n.id);
        if (own.length > 0) {
            throw new DeployRefused('openapi_path_taken',
                `deploy refused, nothing saved: HTTP-in node${own.length > 1 ? 's' : ''} ${listIds(own)} ${own.length > 1 ? 'take' : 'takes'} ${DOCUMENT_PATH}, where the workers ` +
                'serve the API document while the stack config http.openapi is on: give the endpoint another path, or turn http.openapi off.',
                { nodes: own });
        }
    }
    const problem = storage.storageProblem(whole);
    if (problem) {
        throw new DeployRefused('unstorable_flows', `deploy refused, nothing saved: ${problem}; MongoDB would not give it back exactly`);
    }
}

// Subflow ids of the flows running now (a single-flow call may use them).
function runningSubflows(RED) {
    const active = RED.nodes.getFlows && RED.nodes.getFlows();
    const ids = new Set();
    for (const n of (active && Array.isArray(active.flows) ? active.flows : [])) if (n.type === 'subflow') ids.add(n.id);
    return ids;
}

const userName = (user) => (user && user.username) || null;

// Starts the read of the live workers' records (one query of `instances`, about 1.5 ms here), so that it
// overlaps the checks of the flows; awaited before the deploy goes on. Workers on an older Node-RED, or on
// another credential key (a rotation under way: they could not decrypt what is saved now), refuse it.
function versionsRead(storage) {
    const problems = storage.deployProblems();
    problems.catch(() => {});
    return async () => {
        const { olderWorkers, otherKey } = await problems;
        if (olderWorkers) throw new DeployRefused('older_workers', `deploy refused, nothing saved: ${olderWorkers}`);
        if (otherKey) throw new DeployRefused('key_rotation', `deploy refused, nothing saved: ${otherKey}`);
    };
}

// options: functionModules and openapi (check's), lock (a FlowsLock, or null: flows not locked).
function guardDeploys(RED, storage, log, options = {}) {
    const lock = options.lock || null;
    const api = RED.runtime.flows;
    const original = {
        setFlows: api.setFlows.bind(api), addFlow: api.addFlow.bind(api),
        updateFlow: api.updateFlow.bind(api), deleteFlow: api.deleteFlow.bind(api),
    };
    const refused = (err, user) => {
        if (err instanceof DeployRefused) log('warn', `${err.message}${user ? ` (deploy by ${user})` : ''}`);
        throw err;
    };
    const unlocked = (user) => {
        if (lock && !lock.admits(user)) throw new DeployRefused('flows_locked', lock.refusal(), { status: 409 });
    };

    api.setFlows = async (opts) => {
        const type = opts.deploymentType || 'full';
        const user = userName(opts.user);
        if (type !== 'reload') {
            try {
                unlocked(opts.user);
                const versions = versionsRead(storage);
                check(RED, storage, options, opts.flows && opts.flows.flows);
                await versions();
            } catch (err) {
                refused(err, user);
            }
        }
        return storage.runDeploy({ type, user }, () => original.setFlows(opts));
    };
    // POST /flow and PUT /flow/:id: one tab's flows, checked as a whole deploy's are.
    const oneFlow = (method) => async (opts) => {
        try {
            unlocked(opts.user);
            const versions = versionsRead(storage);
            check(RED, storage, options, nodesOfFlow(opts.flow), runningSubflows(RED), opts.flow);
            await versions();
        } catch (err) {
            refused(err, userName(opts.user));
        }
        return storage.runDeploy({ type: 'flows', user: userName(opts.user) }, () => original[method](opts));
    };
    api.addFlow = oneFlow('addFlow');
    api.updateFlow = oneFlow('updateFlow');
    api.deleteFlow = async (opts) => {
        try {
            unlocked(opts.user);
            await versionsRead(storage)();
        } catch (err) {
            refused(err, userName(opts.user));
        }
        return storage.runDeploy({ type: 'flows', user: userName(opts.user) }, () => original.deleteFlow(opts));
    };

    // The storage's reloads of the editor's flows (a revision written by a rollback, a restore).
    storage.useReload(() => original.setFlows({ deploymentType: 'reload' }));

    // A full deploy of flows from files by `user` (Node-RED's user object), recorded as deploy type
    // "files" with `fields` on the revision ({message, credentialsMissing}): the lock and every check
    // of a deploy first. Nodes carrying `credentials` update those only (Node-RED keeps every other stored
    // credential of a node with the same id). Returns the revision number it was saved as.
    async function deployFiles({ flows, user, fields }) {
        try {
            unlocked(user);
            const versions = versionsRead(storage);
            check(RED, storage, options, flows);
            await versions();
        } catch (err) {
            refused(err, userName(user));
        }
        const saved = await storage.runDeploy({ type: 'files', user: userName(user), fields },
            () => original.setFlows({ flows: { flows }, user, deploymentType: 'full' }));
        return storage.revisionForHash(saved && saved.rev);
    }
    // The checks of a deploy's flows alone (no lock, no save): what POST /cluster/diff refuses too.
    const checkFlows = (flows) => check(RED, storage, options, flows);
    return { deployFiles, unlocked, checkFlows };
}

module.exports = { guardDeploys, missingTypes, DeployRefused };
