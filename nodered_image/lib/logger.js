'use strict';
// One log format for every line an instance writes, Node-RED's and ours: the time, the level, the role
// and instance id, where the line comes from, the message. Text by default:
//
//   2026-01-02T10:00:00.000Z [info] [worker worker-2] [storage] running flows revision 5 (was 4)
//   2026-01-02T10:00:01.000Z [error] [worker worker-2] [function:parse order] TypeError: ...
//
// or one JSON object per line (NODE_RED_LOG_FORMAT=json), with the same fields:
//   {"time":"...","level":"error","role":"worker","instance":"worker-2","source":"function:parse order",
//    "node":{"id":"...","type":"function","name":"parse order","z":"..."},"msg":"TypeError: ..."}
//
// settings.js hands nodeRedLogging() to Node-RED as its console logger; the launcher logs through
// createLogger() with the same identity, so both write the same format.

const LEVEL_NAMES = { 10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace', 98: 'audit', 99: 'metric' };
const FORMATS = ['text', 'json'];

function messageText(m) {
    if (m instanceof Error) return m.stack || String(m);
    if (typeof m === 'string') return m;
    if (m && typeof m === 'object' && m.toString() === '[object Object]' && m.message) return String(m.message);
    try {
        return typeof m === 'object' ? JSON.stringify(m) : String(m);
    } catch {
        return String(m);
    }
}

// write(line) defaults to stdout; identity {role, instance} may be partial (a refused configuration).
function createLogger({ role = null, instance = null, format = 'text', write } = {}) {
    if (!FORMATS.includes(format)) throw new Error(`log format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
    const out = write || ((line) => process.stdout.write(line + '\n'));
    const who = `[${[role, instance].filter(Boolean).join(' ') || 'nodered-scale'}]`;

    // level: a name; source: "launcher", "storage", "function:name", ...; node: {id, type, name, z}.
    function line(level, source, message, node) {
        const time = new Date().toISOString();
        const text = messageText(message);
        if (format === 'json') {
            const entry = { time, level, role, instance };
            if (source) entry.source = source;
            if (node) entry.node = node;
            entry.msg = text;
            out(JSON.stringify(entry));
        } else {
            // A message of several lines (a stack trace, Node-RED's banner): each line is prefixed.
            const prefix = `${time} [${level}] ${who}${source ? ` [${source}]` : ''} `;
            out(text.includes('\n') ? text.split('\n').map((l) => prefix + l).join('\n') : prefix + text);
        }
    }

    const logger = (level, message) => line(level, 'launcher', message);
    logger.line = line;
    // The same logger for another part of ours: its lines name it as their source.
    logger.as = (source) => (level, message) => line(level, source, message);
    logger.format = format;
    return logger;
}

// Our modules prefix their Node-RED log lines with "[storage] " and the like: that is their source.
const OWN_PREFIX = /^\[([a-z][\w-]*)\] /;

// What settings.js gives Node-RED as `logging`: its console handler writes our format.
function nodeRedLogging({ role, instance, format, level = 'info' }) {
    const logger = createLogger({ role, instance, format });
    const handler = () => (msg) => {
        const level = LEVEL_NAMES[msg.level] || String(msg.level);
        let text = msg.level === 98 || msg.level === 99 ? JSON.stringify(msg) : msg.msg;
        let source = null;
        let node = null;
        if (msg.type) {
            source = `${msg.type}:${msg.name || msg.id}`;
            node = { id: msg.id, type: msg.type };
            if (msg.name) node.name = msg.name;
            if (msg.z) node.z = msg.z;
        } else if (typeof text === 'string') {
            const m = OWN_PREFIX.exec(text);
            if (m) {
                source = m[1];
                text = text.slice(m[0].length);
            }
        }
        logger.line(level, source, text, node);
    };
    return { console: { level, metrics: false, audit: false, handler } };
}

module.exports = { createLogger, nodeRedLogging, FORMATS };
