'use strict';
// Context keys are Node-RED property expressions ("count", "a.b[0]", 'a["x.y"]'), evaluated the way
// Node-RED's own memory store evaluates them, with Node-RED's own functions.
const { util } = require('./nodered');

// The key's first segment: one document per (scope, first segment) holds everything below it.
function topKey(key) {
    const parts = util.normalisePropertyExpression(key);
    return { top: String(parts[0]), nested: parts.length > 1 };
}

// The value at `key` of an object holding only the document's value under its top key; undefined
// where the path does not exist (as the memory store answers).
function getPath(holder, key) {
    try {
        return util.getObjectProperty(holder, key);
    } catch (err) {
        if (err.code === 'INVALID_EXPR') throw err;
        return undefined;
    }
}

// Sets (or, for undefined, deletes) `key` in `holder`, creating missing parents as the memory store does.
function setPath(holder, key, value) {
    util.setObjectProperty(holder, key, value);
}

module.exports = { topKey, getPath, setPath };
