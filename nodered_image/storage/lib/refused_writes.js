'use strict';
// Only the editor writes flows, credentials and library entries: a worker refuses, logs it and writes nothing.

class RefusedError extends Error {
    constructor(what) {
        super(`refused to save ${what}: this instance is a worker; only the editor saves (nothing was written)`);
        this.code = 'forbidden';
    }
}

function refuse(what, log) {
    const err = new RefusedError(what);
    log.warn(err.message);
    throw err;
}

module.exports = { RefusedError, refuse };
