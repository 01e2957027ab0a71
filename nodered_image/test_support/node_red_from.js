'use strict';
// Runs this project's JavaScript against another Node-RED install: loaded with --require (NODE_OPTIONS), it
// makes every `node-red` and `@node-red/...` require from outside that install resolve inside the folder
// NODERED_SCALE_NODE_RED_DIR names (whose node_modules holds it), as the image resolves them to the base
// image's copy. local_stack/node_lines.py sets both for a line other than the image's own (Node-RED 4.1).
const path = require('path');
const Module = require('module');

const dir = process.env.NODERED_SCALE_NODE_RED_DIR;
if (!dir) throw new Error('node_red_from.js: NODERED_SCALE_NODE_RED_DIR is not set');
const root = path.resolve(dir);
const inside = path.join(root, 'node_modules') + path.sep;

const isNodeRed = (request) => request === 'node-red' || request.startsWith('node-red/') || request.startsWith('@node-red/');

// Module._resolveFilename is what require and require.resolve (with or without `paths`) go through.
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveNodeRed(request, parent, isMain, options) {
    const from = parent && parent.filename ? parent.filename : '';
    if (isNodeRed(request) && !from.startsWith(inside)) {
        return resolve.call(this, request, parent, isMain, { ...options, paths: [root] });
    }
    return resolve.call(this, request, parent, isMain, options);
};
// Fails at once when the folder holds no node-red.
require.resolve('node-red/package.json');
