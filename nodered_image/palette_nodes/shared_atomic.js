'use strict';
// shared-atomic: the shared context store's atomic operations as a palette node (category nodered-scale),
// for flows without a function node. It calls the same module function nodes load (nodered-scale-shared,
// which reaches the open store of this process), so the atomic rules exist once, in context/lib/atomic.js.
//
// incr has one output (msg.payload: the new number). compareAndSet, deleteIfEqual, lock and unlock have two:
// 1 when the operation took effect (true, or lock's token), 2 when it did not (false, or lock's null).
// Errors (no store, the database failing, a key holding something else, a bad input) go to catch nodes.
const shared = require('nodered-scale-shared');

// operation -> whether it answers granted/refused on two outputs.
const OPERATIONS = { incr: false, compareAndSet: true, deleteIfEqual: true, lock: true, unlock: true };
const STATUS_MS = 3000; // how long the last result stays shown under the node

// The value of a typed input: `absent` is "no value" (compareAndSet's expected: the key does not exist;
// its value: delete the key); the rest as Node-RED evaluates them (msg, json, str, num, bool, ...).
function evaluate(RED, node, msg, value, type) {
    if (type === 'absent') return undefined;
    return RED.util.evaluateNodeProperty(value, type, node, msg);
}

// What the node's configuration gets wrong, or null: checked when it starts, and again for each message.
function configProblem(config) {
    if (!Object.hasOwn(OPERATIONS, config.operation)) {
        return `unknown operation ${JSON.stringify(config.operation)}: use one of ${Object.keys(OPERATIONS).join(', ')}`;
    }
    if (!config.key) return 'no key configured';
    return null;
}

function describeResult(operation, result) {
    if (operation === 'incr') return { fill: 'green', text: String(result) };
    if (operation === 'lock') return result === null ? { fill: 'yellow', text: 'refused' } : { fill: 'green', text: `token ${result}` };
    return result ? { fill: 'green', text: 'true' } : { fill: 'yellow', text: 'false' };
}

module.exports = function register(RED) {
    function SharedAtomicNode(config) {
        RED.nodes.createNode(this, config);
        const node = this;
        const operation = config.operation;
        const keyType = config.keyType || 'str';
        const tokenProperty = config.token || 'lockToken';
        const problem = configProblem(config);
        let statusTimer = null;

        const showStatus = (status) => {
            clearTimeout(statusTimer);
            node.status({ shape: 'dot', ...status });
            statusTimer = setTimeout(() => node.status({}), STATUS_MS);
        };
        if (problem) {
            node.error(`shared-atomic: ${problem}`);
            node.status({ fill: 'red', shape: 'ring', text: problem });
        }

        // The operation's arguments for this message; a missing or malformed one is an error naming it.
        function argumentsOf(msg) {
            const key = evaluate(RED, node, msg, config.key, keyType);
            if (typeof key !== 'string' || key === '') {
                const where = keyType === 'msg' ? `msg.${config.key}` : 'the key';
                throw new Error(`shared-atomic: ${where} must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
            }
            const prop = (name, defaultType, fallback = '') => {
                const value = config[name] === undefined || config[name] === '' ? fallback : config[name];
                return evaluate(RED, node, msg, value, config[`${name}Type`] || defaultType);
            };
            const args = {
                incr: () => {
                    const n = prop('n', 'num', '1');
                    return [key, typeof n === 'string' && n.trim() !== '' ? Number(n) : n];
                },
                compareAndSet: () => [key, prop('expected', 'absent'), prop('value', 'str')],
                deleteIfEqual: () => [key, prop('expected', 'str')],
                lock: () => [key, Number(prop('ttl', 'num', '30'))],
                unlock: () => [key, RED.util.getMessageProperty(msg, tokenProperty)],
            };
            return args[operation]();
        }

        node.on('input', async (msg, send, done) => {
            try {
                if (problem) throw new Error(`shared-atomic: ${problem}`);
                const result = await shared[operation](...argumentsOf(msg));
                msg.payload = result;
                if (operation === 'lock' && result !== null) RED.util.setMessageProperty(msg, tokenProperty, result, true);
                showStatus(describeResult(operation, result));
                if (!OPERATIONS[operation]) send(msg);
                else send(result === null || result === false ? [null, msg] : [msg, null]);
                done();
            } catch (err) {
                // The message alone ("shared.incr: ... not a number"), as catch nodes show it in msg.error.message.
                const message = String(err && err.message ? err.message : err);
                showStatus({ fill: 'red', text: message.slice(0, 60) });
                done(message);
            }
        });
        node.on('close', () => {
            clearTimeout(statusTimer);
        });
    }
    RED.nodes.registerType('shared-atomic', SharedAtomicNode);
};
