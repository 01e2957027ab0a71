'use strict';
// bcryptjs as shipped with node-red: the same one its admin login hashes and compares with.
const path = require('path');

function bcrypt() {
    const nodeRedDir = path.dirname(require.resolve('node-red/package.json'));
    return require(require.resolve('bcryptjs', { paths: [nodeRedDir] }));
}

module.exports = { bcrypt };
