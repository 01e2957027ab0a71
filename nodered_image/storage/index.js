'use strict';
// The storage module Node-RED loads (settings.storageModule): Node-RED flows, credentials, settings,
// sessions and library on MongoDB / DocumentDB. One storage per process.
//
// Collections in the configured database:
//   flows     {_id: rev, rev, flows, credentials, savedAt, savedBy}  one per deploy (lib/revisions.js)
//   instances {_id: instanceId, role, host, port, pid, rev, latestRev, state, startedAt, lastSeen}
//             one status record per running instance (lib/health.js, lib/status.js)
//   settings  {_id: "settings", settings, savedAt}   sessions {_id: "sessions", sessions, savedAt}
//   library   {_id: "<type>:<path>", type, path, meta, body, savedAt}  (lib/library.js)
//
// Roles: the editor writes. A worker writes only its status record: saving flows, credentials or
// library entries is refused (logged, nothing written); settings and sessions it is handed stay in its
// memory. Workers follow new revisions and reload through the runtime (lib/reloader.js).
//
// Beside Node-RED's storage API the object has, for the launcher: statusInfo() (/healthz),
// revisionForHash(hash) (Node-RED's flows hash -> storage revision, or null), events (an EventEmitter:
// 'swap-starting', 'flows-started', 'start-failed'; lib/events.js says what they carry), database()
// (the connected Db, or null: the launcher keeps workers' debug messages there) and close().
module.exports = require('./lib/storage').createStorage();
