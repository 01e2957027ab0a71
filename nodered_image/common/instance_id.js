'use strict';
// An instance's id when none is configured (NODE_RED_INSTANCE_ID, contract.json; the storage's
// instanceId option): its host name and process id, unique among the instances of a stack.
const os = require('os');

const defaultInstanceId = () => `${os.hostname()}-${process.pid}`;

module.exports = { defaultInstanceId };
