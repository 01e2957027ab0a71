'use strict';
// Errors a catch node handles are logged by Node-RED nowhere (only unhandled ones are): the flow deals
// with them, and no one learns how often that happens. This logs each as one info line, naming the node
// that failed and the catch node that took it, at most `perSecond` lines a second (the rest are counted
// into the next line), and counts them for /metrics. Info, not warn: a warning would also go to the
// debug sidebar, which Node-RED keeps for unhandled errors.
const { TokenBucket } = require('./debug_budget');

function followCaughtErrors({ hooks, log, metrics = null, perSecond = 10 }) {
    const bucket = new TokenBucket(perSecond, perSecond);
    let suppressed = 0;
    // onReceive: a catch node gets the error message from its flow's handleError.
    hooks.add('onReceive.nodered-scale-caught-errors', (ev) => {
        const node = ev.destination && ev.destination.node;
        if (!node || node.type !== 'catch') return;
        if (metrics) metrics.errorCaught();
        if (!bucket.take()) {
            suppressed += 1;
            return;
        }
        const err = (ev.msg && ev.msg.error) || {};
        const src = err.source || {};
        const more = suppressed ? ` (${suppressed} more not logged)` : '';
        suppressed = 0;
        log('info', `error caught by catch:${node.name || node.id} from ${src.type || '?'}:${src.name || src.id || '?'}: ${err.message}${more}`);
    });
}

module.exports = { followCaughtErrors };
