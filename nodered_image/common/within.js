'use strict';
// A wait with an upper bound, for the steps that must not hang on a database that does not answer (a
// stop, a swap's drain, a lease's release): the promise's value, or TIMED_OUT once `ms` have passed. A
// rejection is passed on. The timer goes either way, so a settled wait keeps nothing alive.
const TIMED_OUT = Symbol('timed out');

async function within(promise, ms) {
    let timer;
    const late = new Promise((resolve) => {
        timer = setTimeout(resolve, ms, TIMED_OUT);
    });
    try {
        return await Promise.race([promise, late]);
    } finally {
        clearTimeout(timer);
    }
}

module.exports = { within, TIMED_OUT };
