'use strict';
// Context keys are Node-RED property expressions ("count", "a.b[0]", 'a["x.y"]'), evaluated the way
// Node-RED's own memory store evaluates them, with Node-RED's own functions.
const { util } = require('./nodered');
const { setOwn } = require('../../common/stored_keys');

// The key's first segment (one document per scope and first segment holds everything below it) and the
// segments below it: strings, numbers for array indexes (`a[0]`), arrays for `a[msg.b]`.
function parseKey(key) {
    const parts = util.normalisePropertyExpression(key);
    return { top: String(parts[0]), nested: parts.length > 1, below: parts.slice(1) };
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

const isContainer = (value) => value !== null && (typeof value === 'object' || typeof value === 'function');

// Sets (or, for undefined, deletes) `key` in `holder`, creating missing parents, step for step as
// Node-RED's util.setObjectProperty does (the memory store's set), except that a `__proto__` segment is
// the object's own property, as everywhere in this store, never its prototype (Node-RED's would replace
// the prototype of the object holding it, which BSON then drops).
function setPath(holder, key, value) {
    const parts = util.normalisePropertyExpression(key, holder);
    const createMissing = value !== undefined;
    let obj = holder;
    for (let i = 0; i < parts.length - 1; i++) {
        const part = parts[i];
        const missingKind = () => (typeof parts[i + 1] === 'string' ? {} : []);
        if (!isContainer(obj)) return; // under a scalar of an array: nothing to set (Node-RED: nothing, or a TypeError)
        if (typeof part === 'string' || (typeof part === 'number' && !Array.isArray(obj))) {
            if (Object.hasOwn(obj, part)) {
                if (!isContainer(obj[part])) return; // nothing can be created beneath it
                obj = obj[part];
            } else if (createMissing) {
                setOwn(obj, part, missingKind());
                obj = obj[part];
            } else {
                return;
            }
        } else if (typeof part === 'number') { // an index of an array
            if (obj[part] === undefined) {
                if (!createMissing) return;
                obj[part] = missingKind();
            }
            obj = obj[part];
        }
    }
    const last = parts[parts.length - 1];
    if (value === undefined) {
        if (typeof last === 'number' && Array.isArray(obj)) obj.splice(last, 1);
        else if (isContainer(obj)) delete obj[last];
    } else if (isContainer(obj) && typeof obj !== 'function') {
        setOwn(obj, last, value);
    }
}

module.exports = { parseKey, getPath, setPath };
