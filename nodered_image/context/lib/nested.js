'use strict';
// A nested key through objects ("orders.a.b") as one update of its top-level key's document: the server
// sets (or removes) that one field inside the stored value, so concurrent nested sets of different paths
// of one key all land, with no read and no retry. This holds where the stored value has a plain object,
// or nothing, at every parent of the path (missing ones are created as objects, as Node-RED creates them
// for a name). An array index in the key (`a.list[0]`), or a parent that is an array, a scalar, null,
// undefined or -0, is left to store.js's compare-and-set, which follows Node-RED's rules for those.
// Only plain query and update operators ($type, $exists, $or, $set, $unset): MongoDB 6+ and DocumentDB 5
// alike (no update pipelines, which DocumentDB 5 lacks).
const { encodeKey } = require('../../common/stored_keys');
const { SCALAR_TAGS } = require('./codec');

// The path of the field in the stored document (['value', ...escaped names]), or null when a segment
// is no plain name: an array index, a reference (`a[msg.b]`).
function fieldPath(below) {
    if (!below.every((s) => typeof s === 'string' && s !== '')) return null;
    return ['value', ...below.map(encodeKey)];
}

// Matches the document only while every parent of the field is missing or a plain object: not an array
// (whose elements a query would look into), nor one of the codec's tags for undefined and -0.
function parentsAreObjects(path) {
    const conditions = [];
    for (let i = 1; i < path.length; i++) {
        const parent = path.slice(0, i).join('.');
        const untagged = Object.fromEntries(SCALAR_TAGS.map((t) => [`${parent}.${t}`, { $exists: false }]));
        conditions.push({
            $or: [{ [parent]: { $exists: false } }, { [parent]: { $type: 'object', $not: { $type: 'array' } }, ...untagged }],
        });
    }
    return { $and: conditions };
}

module.exports = { fieldPath, parentsAreObjects };
