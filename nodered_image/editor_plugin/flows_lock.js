'use strict';
// Runtime half of the flows lock in the editor (flows_lock.html beside it is what the editor loads): the
// editor page reads the lock from RED.settings['nodered-scale-flows-lock'], which settings.js sets
// (lib/flows_lock.js) and this registration exports to the page.
module.exports = function (RED) {
    RED.plugins.registerPlugin('nodered-scale-flows-lock', { type: 'nodered-scale-flows-lock', settings: { '*': { exportable: true } } });
};
