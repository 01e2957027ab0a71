'use strict';
// What the store uses of Node-RED itself: @node-red/util (property expressions, the runtime's log), the
// copy Node-RED runs with. The image has it in /usr/src/node-red/node_modules, above this package;
// otherwise it is found from node-red's own package.
const path = require('path');

function nodeRedUtil() {
    try {
        return require('@node-red/util');
    } catch {
        const nodeRedDir = path.dirname(require.resolve('node-red/package.json'));
        return require(require.resolve('@node-red/util', { paths: [nodeRedDir] }));
    }
}

const { util, log } = nodeRedUtil();

module.exports = { util, log };
