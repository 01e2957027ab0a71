'use strict';
// Which tabs Node-RED runs on this instance. A tab whose environment variables include CLUSTER_RUN_ON =
// `leader` is a run-once tab: it runs only on the instance that holds the leader lease (leader_lease.js).
// Every other tab (no CLUSTER_RUN_ON, or `all`) runs on every instance. `mode` is this instance's part:
//   all       every tab it may: run-once tabs while it leads (workers; the editor with
//             NODE_RED_EDITOR_FLOWS=all)
//   ordinary  every tab but the run-once tabs; it takes no part in the election (the editor's default)
//   none      no tab at all (NODE_RED_EDITOR_FLOWS=none)
// Any other value of CLUSTER_RUN_ON is an error (logged): that tab runs nowhere rather than everywhere.
//
// How, inside Node-RED 4.1 (@node-red/runtime lib/flows): every flow set Node-RED loads or is deployed
// is parsed by flows/util.parseConfig, and start() skips a parsed tab that is `disabled`. We wrap
// parseConfig so a tab that must not run here comes out disabled. What Node-RED stores and shows (its
// active config, GET /flows, what the editor deploys) is never changed: only the parsed copy it runs.
// When leadership changes, the affected tabs are stopped or started the way a "modified flows" deploy
// of a tab's enabled switch does it (stopFlows/startFlows with that diff): the other tabs keep
// running, and no database is needed, so a leader cut off from the database stops its tabs in time.
// Node-RED's own loads and deploys and these switches never overlap (the wrappers below wait).
const path = require('path');

const RUN_ON = 'CLUSTER_RUN_ON';
const MODES = ['all', 'ordinary', 'none'];

// Node-RED's module, the copy the runtime runs (found from node-red's package, like settings.js does).
function runtimeModule(name) {
    const nodeRedDir = path.dirname(require.resolve('node-red/package.json'));
    return require(require.resolve(`@node-red/runtime/lib/${name}`, { paths: [nodeRedDir] }));
}

// 'all', 'leader', or the invalid value as given.
function runOn(tab) {
    const entry = Array.isArray(tab.env) ? tab.env.find((e) => e && e.name === RUN_ON) : null;
    if (!entry) return 'all';
    const value = entry.type && entry.type !== 'str' ? `(a ${entry.type} value)` : String(entry.value ?? '').trim();
    return value === '' ? 'all' : value;
}

class TabFilter {
    constructor({ mode, isLeader, log }) {
        if (!MODES.includes(mode)) throw new Error(`storage option tabs must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
        this.mode = mode;
        this.isLeader = isLeader; // () => boolean
        this.log = log;
        this.userDisabled = new WeakMap(); // parsed config -> Map(tab id -> disabled as deployed)
        this.lastParsed = null; // newest flow set parsed
        this.active = null; // the parsed flow set Node-RED runs (set when it starts one)
        this.pending = 0; // Node-RED loads and deploys in progress
        this.busy = false; // Node-RED stopping or starting flows of its own (flows:stopping or flows:starting to flows:started)
        this.switching = null; // our tab switch in progress: {diff, done}
        this.runtime = null;
    }

    // A flows:* event of our own switch.
    ours(ev) {
        return Boolean(this.switching && ev && ev.diff === this.switching.diff);
    }

    get electing() {
        return this.mode === 'all';
    }

    wants(tab) {
        if (this.mode === 'none') return false;
        const on = runOn(tab);
        if (on === 'all') return true;
        if (on === 'leader') return this.mode === 'all' && this.isLeader();
        return false;
    }

    install(runtime) {
        this.runtime = runtime;
        const util = runtimeModule('flows/util');
        const parseConfig = util.parseConfig;
        util.parseConfig = (config) => {
            const parsed = parseConfig(config);
            this.filter(parsed, config);
            return parsed;
        };
        // Node-RED's loads (a worker's reloads, the first start, a reload deploy) and deploys.
        for (const [owner, name] of [[runtime.nodes, 'loadFlows'], [runtime.flows, 'loadFlows'], [runtime.flows, 'setFlows']]) {
            const fn = owner[name];
            owner[name] = async (...args) => {
                while (this.switching) await this.switching.done;
                this.pending += 1;
                try {
                    return await fn(...args);
                } finally {
                    this.pending -= 1;
                    this.reconcile();
                }
            };
        }
        // Node-RED's stop and start emit these events synchronously, inside our own stopFlows/startFlows
        // calls too: ours are told apart by the diff they carry (the one we handed over), never by when
        // they come, so our switches never leave Node-RED looking busy.
        const events = runtime.events;
        events.on('flows:starting', (ev) => {
            if (this.ours(ev)) return;
            this.active = this.lastParsed;
            this.busy = true;
        });
        events.on('flows:stopping', (ev) => {
            if (!this.ours(ev)) this.busy = true;
        });
        events.on('flows:started', (ev) => {
            if (this.ours(ev)) return;
            this.busy = false;
            this.reconcile();
        });
        events.on('runtime-event', (ev) => {
            // Flows that could not start (missing node types): Node-RED is idle again.
            if (ev && ev.id === 'runtime-state' && ev.payload && ev.payload.error && !this.switching) this.busy = false;
        });
    }

    // A parsed flow set: the tabs that must not run here come out disabled.
    filter(parsed, config) {
        const tabs = Object.values(parsed.flows || {});
        // Node-RED also parses the flow of each subflow module node it creates: not a flow set.
        if (tabs.length === 0 && Array.isArray(config) && config[0] && config[0].type === 'subflow') return;
        const deployed = new Map();
        for (const tab of tabs) {
            deployed.set(tab.id, Boolean(tab.disabled));
            const on = runOn(tab);
            if (on !== 'all' && on !== 'leader') {
                this.log.error(`tab "${tab.label || tab.id}": ${RUN_ON} is ${JSON.stringify(on)}, not "leader" or "all": it runs on no instance`);
            }
            if (!tab.disabled && !this.wants(tab)) tab.disabled = true;
        }
        this.userDisabled.set(parsed, deployed);
        this.lastParsed = parsed;
    }

    // Tabs of the running flow set whose state is not what this instance's part says now.
    mismatched() {
        const active = this.active;
        const deployed = active && this.userDisabled.get(active);
        if (!deployed) return [];
        return Object.values(active.flows).filter((tab) => {
            const want = !deployed.get(tab.id) && this.wants(tab);
            return want === Boolean(tab.disabled);
        });
    }

    // After a leadership change, and whenever Node-RED is done starting flows: switch what must change,
    // once nothing else is loading or starting flows.
    reconcile() {
        if (!this.runtime || this.switching || this.pending > 0 || this.busy) return;
        const tabs = this.mismatched();
        if (tabs.length === 0) return;
        const diff = this.toggle(tabs);
        this.switching = { diff, done: null };
        this.switching.done = this.switchTabs(tabs, diff).catch((err) => {
            this.log.error(`switching run-once tabs failed: ${err && err.stack ? err.stack : err}`);
        }).finally(() => {
            this.switching = null;
            this.reconcile();
        });
    }

    // Flips the enabled state of `tabs` in the running flow set; the diff Node-RED deploys that with.
    toggle(tabs) {
        const util = runtimeModule('flows/util');
        const active = this.active;
        const before = { ...active, flows: { ...active.flows } };
        for (const tab of tabs) {
            before.flows[tab.id] = { ...tab };
            tab.disabled = !tab.disabled;
        }
        return util.diffConfigs(before, active);
    }

    // Stops or starts `tabs` the way Node-RED deploys a changed enabled switch of a tab ("modified flows").
    async switchTabs(tabs, diff) {
        await this.runtime.flows.stopFlows('flows', diff);
        await this.runtime.flows.startFlows('flows', diff);
        const names = (list) => list.map((t) => `"${t.label || t.id}"`).join(', ');
        const started = tabs.filter((t) => !t.disabled);
        const stopped = tabs.filter((t) => t.disabled);
        if (started.length) this.log.info(`run-once tabs started here (this instance leads): ${names(started)}`);
        if (stopped.length) this.log.info(`run-once tabs stopped here (this instance does not lead): ${names(stopped)}`);
    }
}

module.exports = { TabFilter, runOn, runtimeModule, RUN_ON, MODES };
