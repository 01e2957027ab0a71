'use strict';
// What changed from one revision's flows to another's: tabs, subflows and nodes added, removed and
// changed, and for each changed one the names of its properties that differ (names only, never values:
// credentials are stored encrypted as one, so they are only ever "changed" or not). A tab or subflow
// counts as changed when its own properties or any node on it changed. The status command's MongoDB mode
// keeps the same rules in Python (nodered_status/revisions.py diff); both run test/cluster_rules.json.
const { readFlows } = require('../../storage/lib/revision_doc');

const isObject = (v) => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

// Equal as JSON values: key order aside, and a boolean never equals a number.
function same(a, b) {
    if (Array.isArray(a) || Array.isArray(b)) {
        return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => same(v, b[i]));
    }
    if (isObject(a) || isObject(b)) {
        if (!isObject(a) || !isObject(b) || a instanceof Date || b instanceof Date) {
            return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
        }
        const ka = Object.keys(a);
        return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
    }
    return a === b;
}

// Python's sorted() on strings (code points), for lists both languages give in the same order.
const byCodePoint = (a, b) => {
    const x = [...a];
    const y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
    }
    return x.length - y.length;
};

const kindOf = (n) => (n.type === 'tab' ? 'tabs' : n.type === 'subflow' ? 'subflows' : 'nodes');
const text = (v) => (typeof v === 'string' && v !== '' ? v : null);

// How a node is named in a diff: id, type, its name (a tab's label) and where it sits (z), if any.
function item(n) {
    return { id: n.id, type: n.type, name: text(n.type === 'tab' ? n.label : n.name), z: text(n.z) };
}

function byId(flows) {
    const m = new Map();
    for (const n of flows || []) if (isObject(n) && typeof n.id === 'string') m.set(n.id, n);
    return m;
}

function changedProperties(a, b) {
    const names = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...names].filter((k) => !(Object.hasOwn(a, k) && Object.hasOwn(b, k) && same(a[k], b[k]))).sort(byCodePoint);
}

// Credentials as stored; none and empty count alike.
const storedCredentials = (c) => (c && !(isObject(c) && Object.keys(c).length === 0) ? c : null);

// The changes from revision document `older` to `newer` (both loadable: documentProblem null).
function diff(older, newer) {
    const oldNodes = byId(readFlows(older).flows);
    const newNodes = byId(readFlows(newer).flows);
    const out = {};
    for (const kind of ['tabs', 'subflows', 'nodes']) out[kind] = { added: [], removed: [], changed: [] };
    const touched = new Set(); // ids of tabs and subflows a changed node sits on
    const changedOwn = new Map(); // id -> properties of tabs and subflows that changed themselves
    for (const [id, n] of newNodes) if (!oldNodes.has(id)) out[kindOf(n)].added.push(item(n));
    for (const [id, n] of oldNodes) if (!newNodes.has(id)) out[kindOf(n)].removed.push(item(n));
    for (const [id, n] of newNodes) {
        const o = oldNodes.get(id);
        if (!o) continue;
        const properties = changedProperties(o, n);
        if (kindOf(n) !== 'nodes') {
            if (properties.length) changedOwn.set(id, properties);
        } else if (properties.length) {
            out.nodes.changed.push({ ...item(n), properties });
            touched.add(n.z).add(o.z);
        }
    }
    for (const n of out.nodes.added) touched.add(n.z);
    for (const n of out.nodes.removed) touched.add(n.z);
    for (const [id, n] of newNodes) {
        const kind = kindOf(n);
        if (kind === 'nodes' || !oldNodes.has(id) || (!changedOwn.has(id) && !touched.has(id))) continue;
        out[kind].changed.push({ ...item(n), properties: changedOwn.get(id) || [] });
    }
    for (const kind of Object.values(out)) for (const list of Object.values(kind)) list.sort((a, b) => byCodePoint(a.id, b.id));
    out.credentialsChanged = !same(storedCredentials(older.credentials), storedCredentials(newer.credentials));
    return out;
}

// One line: "tabs +1 ~1, subflows -1, nodes +3 ~2, credentials changed" (the history's CHANGES column).
function summary(d) {
    const parts = [];
    for (const kind of ['tabs', 'subflows', 'nodes']) {
        const counts = [['+', 'added'], ['-', 'removed'], ['~', 'changed']]
            .filter(([, k]) => d[kind][k].length).map(([sign, k]) => `${sign}${d[kind][k].length}`);
        if (counts.length) parts.push(`${kind} ${counts.join(' ')}`);
    }
    if (d.credentialsChanged) parts.push('credentials changed');
    return parts.join(', ') || 'no changes';
}

module.exports = { diff, summary, same };
