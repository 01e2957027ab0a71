'use strict';
// What the launcher adds so people can see what an instance does (server.js wires it in): /metrics
// (lib/metrics.js), the debug output of a worker sent to the editor's sidebar (lib/debug_forwarder.js
// on workers, lib/debug_relay.js on the editor, whose sessions hold back what they cannot take:
// lib/comms_guard.js), and errors handled by catch nodes logged (lib/caught_errors.js).
const { Metrics } = require('./metrics');
const { DebugForwarder } = require('./debug_forwarder');
const { DebugRelay } = require('./debug_relay');
const { CommsGuard } = require('./comms_guard');
const { followCaughtErrors } = require('./caught_errors');

class Observability {
    constructor({ RED, storage, gate, settings, logger }) {
        const role = settings.storageModuleOptions.role;
        const instance = settings.storageModuleOptions.instanceId;
        this.metrics = new Metrics({ role, instance, storage, gate });
        this.metrics.follow(storage.events);
        this.parts = [];
        const database = () => storage.database();
        const log = logger.as('debug-forward');
        if (role === 'worker' && settings.debugForwardRate > 0) {
            this.parts.push(new DebugForwarder({
                events: RED.events, database, instance, role, rate: settings.debugForwardRate, kib: settings.debugForwardKiB, log,
            }));
            this.metrics.followDebug(this.parts[0].totals);
        } else if (role === 'editor') {
            const node = (id) => RED.nodes.getNode(id);
            const guard = new CommsGuard({ comms: RED.runtime.comms, log: logger.as('comms') });
            this.parts.push(guard, new DebugRelay({ events: RED.events, database, node, log, metrics: this.metrics }));
            this.metrics.followDebug(guard.totals);
        }
        this.RED = RED;
        this.logger = logger;
    }

    // Before RED.start(): debug messages of the first flows are taken too (written once connected).
    start() {
        this.metrics.followLog(this.RED.log);
        followCaughtErrors({ hooks: this.RED.hooks, log: this.logger.as('catch'), metrics: this.metrics });
        for (const p of this.parts) p.start(this.RED.hooks);
    }

    async stop() {
        await Promise.all(this.parts.map((p) => p.stop().catch(() => {})));
    }

    // Express: in front of the HTTP-in endpoints, and GET /metrics.
    countRequests() {
        return this.metrics.countRequests();
    }

    metricsHandler() {
        return this.metrics.handler();
    }
}

module.exports = { Observability };
