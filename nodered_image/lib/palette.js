'use strict';
// Installing, updating or removing nodes at run time is off by design: the editor and every worker run
// the nodes baked into the image (stack config image.extraNodes), so a node installed into one editor
// would be a missing type on every worker. Node-RED only leaves the install routes out (a bare 404:
// node-red-admin says "Admin API not found"); here each is answered with the reason and where to go
// instead, in Node-RED's error shape ({code, message}, which node-red-admin prints) for logged-in users.
// The palette's own notice is editor_plugin/palette.html.
const express = require('express');

const MESSAGE = 'nodes cannot be installed, updated, removed or switched off at run time: the editor and every worker run ' +
    'the nodes baked into the image. ' +
    'Add the module to image.extraNodes in the stack config (e.g. node-red-contrib-foo@1.2.3) and run pulumi up';

// authorize(''): logged in at all (lib/cluster's authorizer: 401 with a reason otherwise).
function paletteRefusals({ authorize, refusals }) {
    const r = express.Router();
    const refuse = (req, res) => refusals.answer(req, res, 403, MESSAGE, { extra: { code: 'install_disabled', message: MESSAGE } });
    r.post(/^\/nodes\/?$/, authorize(''), refuse);
    r.put(/^\/nodes\/((@[^/]+\/)?[^/]+)$/, authorize(''), refuse);
    r.delete(/^\/nodes\/((@[^/]+\/)?[^/]+)$/, authorize(''), refuse);
    return r;
}

module.exports = { paletteRefusals, MESSAGE };
