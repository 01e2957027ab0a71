'use strict';
// Node-RED versions across the stack while a rolling update replaces instances (docs/image.md: "Upgrading
// Node-RED"). Every instance's status record says which Node-RED it runs (`nodeRedVersion`). Flows saved
// by an editor on a newer release line may use what an older line does not know (a node's new option, a
// new core node), and a worker on the older line would load them all the same; the other way round is
// fine (a newer Node-RED loads what an older one saved). So the editor refuses a deploy while a live
// worker runs an older release line than its own (deploy_guard.js): during an update the editor is
// replaced first or last, in any order, and no revision reaches a worker that cannot run it.
//
// A record without `nodeRedVersion` was written by this image before records carried it, which ran
// Node-RED 4.1 (its default then): such a worker counts as 4.1.
const UNRECORDED = '4.1';
// A record not refreshed for this long is an instance that died (status.js refreshes every 10 s; the
// status command's --stale-after default is the same).
const LIVE_MS = 30 * 1000;

// [major, minor] of a version string ("5.0.7" -> [5, 0]), or null.
function releaseLine(version) {
    const m = /^(\d+)\.(\d+)/.exec(String(version || ''));
    return m ? [Number(m[1]), Number(m[2])] : null;
}

function older(version, than) {
    const a = releaseLine(version);
    const b = releaseLine(than);
    if (!a || !b) return false;
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

// The live workers' status records, as the editor's deploy checks read them (once per deploy: this
// module's and credential_key.js's look at the same records): [{_id, nodeRedVersion, credentialKey}].
function liveWorkers(instances, now = Date.now()) {
    return instances.find(
        { role: 'worker', lastSeen: { $gte: new Date(now - LIVE_MS) } },
        { projection: { nodeRedVersion: 1, credentialKey: 1 } },
    ).toArray();
}

// Of those records, the workers on an older release line than `own`: [{id, version}] (version null: not recorded).
function olderWorkers(records, own) {
    return records
        .filter((r) => older(r.nodeRedVersion || UNRECORDED, own))
        .map((r) => ({ id: String(r._id), version: r.nodeRedVersion || null }));
}

// Why a deploy must wait, given the live workers' records, or null.
function mixedVersionsProblem(records, own) {
    if (!releaseLine(own)) return null;
    const behind = olderWorkers(records, own);
    if (behind.length === 0) return null;
    const names = behind.slice(0, 5).map((w) => `${w.id} (${w.version ? `Node-RED ${w.version}` : 'a Node-RED before 5'})`);
    const more = behind.length > 5 ? ` and ${behind.length - 5} more` : '';
    const line = releaseLine(own).join('.');
    return `${behind.length} worker${behind.length > 1 ? 's run' : ' runs'} an older Node-RED than this editor's ${own}: ` +
        `${names.join(', ')}${more}. A rolling update is under way: deploy again once every worker runs Node-RED ${line}`;
}

module.exports = { releaseLine, older, liveWorkers, olderWorkers, mixedVersionsProblem, UNRECORDED, LIVE_MS };
