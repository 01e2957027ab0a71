'use strict';
// The way of a deploy from the editor to this instance serving it, in parts (milliseconds):
//   editorMs   the editor's flows API call began -> it wrote the revision (Node-RED's own deploy work:
//              parsing, the diff, credentials; deployStartedAt -> savedAt, both the editor's clock)
//   notifyMs   the revision written -> this instance learnt of it (the database write and the change
//              stream; savedAt on the editor's clock -> seenAt on this one)
//   loadMs     learnt of it -> the swap started (reading what to load, waiting for a reload under way)
//   swapMs     the swap started (requests held) -> the new flows started (drain, stop, start)
//   totalMs    the editor's API call began -> the new flows started here
// Parts across two clocks (notifyMs, totalMs) are only as good as the clocks agree (one host: exact).
// A part that cannot be known (an old revision without deployStartedAt, a revision not waited for) is null.

const ms = (d) => (d instanceof Date ? d.getTime() : typeof d === 'number' ? d : null);
const diff = (a, b) => (a === null || b === null ? null : Math.max(0, b - a));

function syncTiming({ rev, deployStartedAt, savedAt, seenAt, swapMs, startedAt = Date.now(), mode = null, restarted = null }) {
    const began = ms(deployStartedAt);
    const saved = ms(savedAt);
    const seen = ms(seenAt);
    const swapStarted = swapMs === null || swapMs === undefined ? null : startedAt - swapMs;
    return {
        rev,
        mode, // 'full' or 'partial' (which flows restarted: restarted)
        restarted,
        editorMs: diff(began, saved),
        notifyMs: diff(saved, seen),
        loadMs: diff(seen, swapStarted),
        swapMs: swapStarted === null ? null : swapMs,
        totalMs: diff(began, startedAt),
    };
}

// "deploy -> serving 25 ms: editor 3, database + notification 6, load 4, swap 12"
function describeTiming(t) {
    const part = (name, v) => (v === null ? null : `${name} ${v}`);
    const parts = [part('editor', t.editorMs), part('database + notification', t.notifyMs), part('load', t.loadMs), part('swap', t.swapMs)]
        .filter(Boolean).join(', ');
    const head = t.totalMs === null ? 'deploy -> serving' : `deploy -> serving ${t.totalMs} ms`;
    return parts ? `${head}: ${parts}` : null;
}

module.exports = { syncTiming, describeTiming };
