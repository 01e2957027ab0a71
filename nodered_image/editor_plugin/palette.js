'use strict';
// Runtime half of the palette notice (palette.html beside it is what the editor loads): nothing to do at
// run time; the launcher refuses installs through the admin API (lib/palette.js).
module.exports = function (RED) {
    RED.plugins.registerPlugin('nodered-scale-palette', { type: 'nodered-scale-palette' });
};
