'use strict';
// Runtime half of the Cluster sidebar (cluster.html beside it is what the editor loads): nothing to do at
// run time; the launcher serves the cluster API and the feed the sidebar shows (lib/cluster/).
module.exports = function (RED) {
    RED.plugins.registerPlugin('nodered-scale-cluster', { type: 'nodered-scale-cluster' });
};
