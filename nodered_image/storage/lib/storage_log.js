'use strict';
// Log lines go through Node-RED's own logger once the runtime hands it over (init), to the console before.

function consoleLog(prefix) {
    const line = (level, msg) => console.log(`${new Date().toISOString()} - [${level}] ${prefix}${msg}`);
    return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m), debug: () => {} };
}

function runtimeLog(runtime, prefix) {
    const l = runtime && runtime.log;
    if (!l || typeof l.info !== 'function') return consoleLog(prefix);
    return {
        info: (m) => l.info(prefix + m), warn: (m) => l.warn(prefix + m),
        error: (m) => l.error(prefix + m), debug: (m) => l.debug(prefix + m),
    };
}

module.exports = { consoleLog, runtimeLog };
