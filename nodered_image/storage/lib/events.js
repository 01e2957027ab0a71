'use strict';
// What the storage tells others (the launcher's request gate) about the flows it hands Node-RED,
// as events on `storage.events` (an EventEmitter):
//
//   'swap-starting'  {rev, cause, timeoutMs, waitFor(promise), restarting}
//       Node-RED is about to stop the running flows for those of revision `rev`. cause 'deploy': the
//       editor saved them (saveFlows); 'reload': Node-RED reads them again (getFlows once flows have
//       started, as an instance does for each new revision); 'restart': "restart flows" was asked for
//       in the editor; 'fallback': the revision before failed to start, the newest one that can start
//       is loaded again. Emitted before saveFlows/getFlows return
//       to Node-RED, which stops the old flows only after that: a listener that must finish
//       something first (answer the requests inside the flows) passes its promise to waitFor(); the
//       storage returns to Node-RED when every such promise has settled, or after timeoutMs
//       (drainTimeoutMs) at the latest. Always followed by 'flows-started' or 'start-failed'.
//       restarting: null when every flow stops and starts again; for a worker's partial reload
//       (partial.js) {flows: [tab ids], routes: [{method, url, flow}]}: only those flows restart, and
//       only requests for those HTTP-in routes need holding or draining.
//   'flows-started'  {rev, previousRev, savedAt, swapMs, timing}
//       Node-RED started the flows of revision `rev` (also its first start, which no 'swap-starting'
//       precedes; previousRev and swapMs are then null). savedAt: when the editor saved that revision
//       (a Date, null for the empty flow set); swapMs: from 'swap-starting' to started; timing: the
//       deploy's way to this instance in parts (timing.js; null at boot).
//   'start-failed'   {rev, reason, fallbackRev}
//       The flows of revision `rev` are not running: Node-RED could not start them (a node type or
//       module the image lacks), the reload failed or timed out, or Node-RED did not report them
//       started within reloadTimeoutSeconds of 'swap-starting' (`reason` says which). fallbackRev: the
//       revision a worker loads instead right away (another 'swap-starting' follows), else null.
//   'serving'        {serving, reason}
//       Whether the flows that run may take requests changed: false when none run (they could not
//       start and nothing to fall back to) or their credentials do not decrypt here; true once they do.
//
// Listeners run synchronously, inside the storage: one that throws is logged and never fails a deploy.

const { within } = require('../../common/within');

class FlowEvents {
    // emitter: storage.events (an EventEmitter the launcher may listen on before init).
    constructor({ emitter, log, opts }) {
        this.emitter = emitter;
        this.log = log;
        this.opts = opts;
        this.swapTimer = null;
        this.swapStartedAt = null; // Date.now() at the first 'swap-starting' of the swap under way
    }

    emit(name, payload) {
        try {
            this.emitter.emit(name, payload);
        } catch (err) {
            this.log.error(`a listener of ${name} failed: ${err && err.stack ? err.stack : err}`);
        }
    }

    // restarting: {flows: [tab ids], routes: [{method, url, flow}]} when only those flows restart, null: all.
    async swapStarting(rev, cause, restarting = null) {
        const timeoutMs = this.opts.drainTimeoutMs;
        const waits = [];
        const waitFor = (promise) => {
            waits.push(Promise.resolve(promise).catch((err) => this.log.warn(`waiting before a swap: ${err.message}`)));
        };
        if (this.swapStartedAt === null) this.swapStartedAt = Date.now();
        this.emit('swap-starting', { rev, cause, timeoutMs, waitFor, restarting });
        if (!this.swapTimer) {
            // Should Node-RED never report the new flows started, those holding requests stop all the same.
            this.swapTimer = setTimeout(() => {
                this.swapTimer = null;
                this.log.warn('new flows not reported started in time: no longer holding HTTP requests');
                this.emit('start-failed', { rev, reason: `not reported started within ${this.opts.reloadTimeoutSeconds} s`, fallbackRev: null });
            }, this.opts.reloadTimeoutSeconds * 1000);
            this.swapTimer.unref();
        }
        if (waits.length > 0) await within(Promise.all(waits), timeoutMs);
    }

    // Milliseconds since the swap under way started (null: none).
    swapMs() {
        return this.swapStartedAt === null ? null : Date.now() - this.swapStartedAt;
    }

    flowsStarted(rev, previousRev, savedAt = null, timing = null) {
        const swapMs = this.swapMs();
        this.endSwap();
        this.emit('flows-started', { rev, previousRev, savedAt, swapMs, timing });
        return swapMs;
    }

    startFailed(rev, reason, fallbackRev = null) {
        this.endSwap();
        this.emit('start-failed', { rev, reason, fallbackRev });
    }

    serving(serving, reason) {
        this.emit('serving', { serving, reason: reason || null });
    }

    endSwap() {
        clearTimeout(this.swapTimer);
        this.swapTimer = null;
        this.swapStartedAt = null;
    }
}

module.exports = { FlowEvents };
