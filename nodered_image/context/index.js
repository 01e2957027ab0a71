'use strict';
// The context store module Node-RED loads (settings.contextStorage.shared.module): context on MongoDB /
// DocumentDB, shared by every instance of the stack. Node-RED calls it with the store's `config`
// ({mongoUrl, database, role, instanceId, tlsCAFile}; settings.js fills it from the environment) and
// gets a store with Node-RED's context store API. lib/store.js says how values are kept.
const { SharedContextStore } = require('./lib/store');

function sharedContextStore(config) {
    return new SharedContextStore(config);
}

// What Node-RED's log line "Context store : 'shared' [module=...]" names.
sharedContextStore.toString = () => 'nodered-scale-context (MongoDB)';

module.exports = sharedContextStore;
