'use strict';
// Which requests a partial reload concerns: the storage's 'swap-starting' names the flows that restart
// and the HTTP-in routes on them (storage/lib/partial.js), and a request concerns the swap when an
// HTTP-in route of those flows would take it. Routes are matched the way Node-RED's HTTP-in node
// registers them (RED.httpNode[method](url): an Express route, case-insensitive, non-strict, route
// params such as /user/:id included; a GET route takes HEAD too), by Express's own route matching.
const Layer = require('express/lib/router/layer');

class RestartScope {
    // restarting: {flows, routes: [{method, url, flow}]} from 'swap-starting'; null: every flow restarts.
    constructor(restarting) {
        this.all = !restarting;
        this.flows = new Set(restarting ? restarting.flows : []);
        this.routes = [];
        if (restarting) this.add(restarting.routes);
    }

    add(routes) {
        for (const r of routes || []) {
            const url = r.url.startsWith('/') ? r.url : `/${r.url}`;
            this.routes.push({ method: r.method, flow: r.flow, layer: new Layer(url, { sensitive: false, strict: false, end: true }, () => {}) });
        }
    }

    // Another swap before the first ended (a fallback, the next revision): both hold.
    widen(restarting) {
        if (!restarting) this.all = true;
        if (this.all) return this;
        for (const f of restarting.flows) this.flows.add(f);
        this.add(restarting.routes);
        return this;
    }

    // req: under httpNodeRoot (req.path relative to it, as the HTTP-in routes are).
    concerns(req) {
        if (this.all) return true;
        const method = String(req.method || '').toLowerCase();
        const path = req.path;
        return this.routes.some((r) => (r.method === method || (method === 'head' && r.method === 'get')) && r.layer.match(path));
    }

    describe() {
        return this.all ? 'all flows' : `${this.flows.size} flow(s), ${this.routes.length} route(s)`;
    }
}

module.exports = { RestartScope };
