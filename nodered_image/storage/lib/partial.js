'use strict';
// A worker applies a new revision the way Node-RED applies a deploy in its own editor: for a "modified
// flows" or "modified nodes" deploy only what changed stops and starts; the other flows keep running,
// with their context, timers and connections.
//
// How, inside Node-RED 4.1 (@node-red/runtime lib/flows): the runtime's setFlows(flows, credentials,
// type) diffs the flows it is handed against the flows it runs (flows/util.diffConfigs), asks the storage
// to save them (a worker saves nothing: Flows.save hands the call back here, and the swap starts with the
// list of flows that restart, for the request gate), then stops and starts what the diff says. A diff
// against what runs, whatever revision that is, is what makes the result exactly the new revision.
//
// Credentials: a revision stores them encrypted as one set, so a node whose only change is its
// credentials looks unchanged to the diff. Node-RED's editor marks such a node by sending its credentials
// inline, which the diff takes for a change (util.diffConfigs); we do the same for every node whose
// decrypted credentials differ between the running set and the new one, in the parsed copy the diff
// reads only (Node-RED drops them from it right after).
//
// Partial only when nothing is in doubt: the revision is a "flows" or "nodes" deploy made by an editor
// that ran exactly the revision this worker runs (baseKey), this worker runs it (its flows started), and
// the reload is no fallback, "restart flows" or revision edited in place. Everything else (a full deploy,
// the first load, a catch-up over several revisions, a rollback, a restore) is a full load.
const { runtimeModule } = require('./tabs');
const { credentialsForNodeRed } = require('./empty_credentials');
const { underCurrentKey } = require('./credential_key');
const { shape, logLoaded, countTabs } = require('./flows');

const PARTIAL_TYPES = new Set(['flows', 'nodes']);

// The flows (tab ids) a diff restarts, and the HTTP-in routes on them; null: everything (the global
// config changed, or a subflow did, whose nodes may serve routes of any flow).
function restartScope(diff, oldConfig, newConfig) {
    if (!diff || diff.globalConfigChanged) return null;
    const nodeOf = (id) => newConfig.allNodes[id] || (oldConfig && oldConfig.allNodes[id]);
    const isTab = (id) => Boolean(newConfig.flows[id] || (oldConfig && oldConfig.flows[id]));
    const flows = new Set();
    const ids = [diff.added, diff.changed, diff.removed, diff.rewired, diff.linked, diff.flowChanged].flatMap((l) => l || []);
    for (const id of ids) {
        const node = nodeOf(id);
        if (!node) continue;
        if (node.type === 'tab') flows.add(node.id);
        else if (!node.z) continue; // a global config node: the nodes using it are in the diff themselves
        else if (isTab(node.z)) flows.add(node.z);
        else return null; // inside a subflow
    }
    const routes = [];
    for (const config of [oldConfig, newConfig]) {
        for (const node of Object.values((config && config.allNodes) || {})) {
            if (node.type !== 'http in') continue;
            if (!isTab(node.z)) return null; // an endpoint inside a subflow: any flow may serve it
            if (flows.has(node.z)) routes.push({ method: String(node.method || 'get').toLowerCase(), url: String(node.url || ''), flow: node.z });
        }
    }
    return { flows: [...flows], routes };
}

class PartialReloads {
    constructor({ runtime, revisions, health, events, opts, log }) {
        this.runtime = runtime;
        this.revisions = revisions;
        this.health = health;
        this.events = events;
        this.opts = opts;
        this.log = log;
        this.current = null; // the partial apply under way: {loaded, type, credentialIds, diff, oldConfig, newConfig}
        this.installed = false;
    }

    install() {
        if (this.installed || !this.runtime || !this.runtime.flows || !this.runtime.flows.setFlows) return;
        const util = runtimeModule('flows/util');
        const diffConfigs = util.diffConfigs;
        util.diffConfigs = (oldConfig, newConfig) => {
            const c = this.current;
            if (c && !c.diff && newConfig && newConfig.allNodes) {
                for (const id of c.credentialIds) if (newConfig.allNodes[id]) newConfig.allNodes[id].credentials = true;
            }
            const diff = diffConfigs(oldConfig, newConfig);
            if (c && !c.diff) Object.assign(c, { diff, oldConfig, newConfig });
            return diff;
        };
        this.installed = true;
    }

    // The deploy type to apply `pick` with ('flows' or 'nodes'), or why not (a string): a full load then.
    decide(pick, plan) {
        if (!this.installed) return 'no runtime to diff with';
        if (plan.cause !== 'reload' || plan.edited) return `a ${plan.edited ? 'revision edited in place' : plan.cause}`;
        const doc = pick.doc || {};
        if (!PARTIAL_TYPES.has(doc.deployType)) return `a ${doc.deployType || 'full'} deploy`;
        const r = this.revisions;
        if (!r.loaded || this.health.runningRevision() !== r.loadedRev || !this.runtime.flows.started) return 'no flows running here';
        if (!doc.baseKey || doc.baseKey !== r.loadedKey) return `a catch-up from revision ${r.loadedRev}`;
        return doc.deployType;
    }

    // Hands `pick` to Node-RED as a deploy of `type`. Resolves once the swap has started (as a full load's
    // reload() does); flows:started follows (Flows.started).
    // False when it could not be prepared (credentials that do not decrypt here): a full load then.
    async apply(pick, type) {
        const loaded = this.revisions.hand(pick);
        const flows = shape(loaded.flows);
        const credentials = credentialsForNodeRed(underCurrentKey(this.revisions.credentials(), this.opts), this.opts.credentialSecret);
        let credentialIds;
        try {
            credentialIds = await this.changedCredentials(credentials, flows);
        } catch (err) {
            this.log.warn(`revision ${loaded.rev}: ${err.message}; loading it in full`);
            return false;
        }
        this.health.setCredentialsFailed(false);
        this.current = { loaded, type, credentialIds, diff: null };
        logLoaded(this.log, pick, loaded, this.revisions.skippedAbove(loaded.rev));
        try {
            await this.runtime.flows.setFlows(flows, credentials, type);
        } finally {
            this.current = null;
        }
        return true;
    }

    // Ids of the nodes whose decrypted credentials differ between the running set and `credentials`.
    // Loads the new set into Node-RED's credentials (its setFlows loads it again, before stopping anything).
    async changedCredentials(credentials, flows) {
        const store = runtimeModule('nodes/credentials');
        const active = this.runtime.flows.getFlows();
        const ids = new Set([...((active && active.flows) || []), ...flows].map((n) => n && n.id).filter(Boolean));
        const before = new Map([...ids].map((id) => [id, JSON.stringify(store.get(id) ?? null)]));
        await store.load(credentials);
        return new Set([...ids].filter((id) => JSON.stringify(store.get(id) ?? null) !== before.get(id)));
    }

    // Whether apply() is under way: Node-RED's save of the flows it was handed is then saved() (Flows.save).
    applying() {
        return this.current !== null;
    }

    // Flows.save on a worker during apply(): Node-RED is about to stop what the diff restarts.
    async saved() {
        const c = this.current;
        const scope = restartScope(c.diff, c.oldConfig, c.newConfig);
        const total = countTabs(c.loaded.flows);
        const restarted = scope ? scope.flows.length : total;
        c.loaded.applied = {
            mode: scope ? 'partial' : 'full',
            restarted: { flows: restarted, of: total },
            summary: `${c.type} deploy: ${restarted} of ${total} flows restarted`,
        };
        await this.events.swapStarting(c.loaded.rev, 'reload', scope);
        return c.loaded.rev;
    }
}

module.exports = { PartialReloads, restartScope };
