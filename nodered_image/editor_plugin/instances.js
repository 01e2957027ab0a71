'use strict';
// Runtime half of the editor plugin (Node-RED loads it from settings.nodesDir on the editor): nothing to
// do at run time; instances.html beside it is what the editor loads.
module.exports = function (RED) {
    RED.plugins.registerPlugin('nodered-scale-instances', { type: 'nodered-scale-instances' });
};
