'use strict';
// nodered-scale-shared: the shared context store's atomic operations for function nodes. Add it in a
// function node's Setup tab (module nodered-scale-shared, e.g. as `shared`), then:
//   const n = await shared.incr('orders');
// Every operation returns a Promise and works on the store's global keys, the ones
// global.get(key, 'shared') reads (docs/atomic-context.md says what each does).
//
// It reaches the store through the process: the shared store (nodered_image/context) registers itself
// under this Symbol.for key when Node-RED opens it. This package loads nothing else, so it is the same
// wherever Node-RED resolves it from.
const REGISTRY = Symbol.for('nodered-scale.sharedContextStore');

const NOT_CONFIGURED = 'nodered-scale-shared: this process has no open shared context store ' +
    '(settings contextStorage.shared, module nodered-scale-context); the operations need it';

function call(operation, args) {
    const store = globalThis[REGISTRY];
    if (!store) return Promise.reject(new Error(NOT_CONFIGURED));
    try {
        return Promise.resolve(store[operation](...args));
    } catch (err) {
        return Promise.reject(err);
    }
}

module.exports = Object.freeze({
    // The key's number plus n (default 1), stored and returned; a missing key counts from 0.
    incr: (key, n = 1) => call('incr', [key, n]),
    // true when the key held `expected` (equal as JSON, object keys in any order) and now holds `value`.
    compareAndSet: (key, expected, value) => call('compareAndSet', [key, expected, value]),
    // true when the key held `expected` and is now deleted.
    deleteIfEqual: (key, expected) => call('deleteIfEqual', [key, expected]),
    // A token (a number growing with every grant of the key), or null while another holder has it.
    lock: (key, ttlSeconds) => call('lock', [key, ttlSeconds]),
    // true when `token` still held the lock and it is now free.
    unlock: (key, token) => call('unlock', [key, token]),
});
