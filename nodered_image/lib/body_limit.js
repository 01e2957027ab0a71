'use strict';
// One body limit (NODE_RED_BODY_LIMIT_MB) in front of the flows and the admin API, for every content
// type: Node-RED's own JSON and urlencoded parsers stop at apiMaxLength but answer 500 from an HTTP-in
// node, and its raw and multipart parsers have no limit at all. Over the limit: 413 with a JSON body
// naming it, before any parser or flow sees the request.
//
// A Content-Length over the limit is refused at once, unread. A chunked body is kept from the parsers
// until it is complete: at most the limit is buffered, and the first byte over it gets the 413.

const LINGER_MS = 30000;

function bodyLimit({ limitBytes, refusals, lingerMs = LINGER_MS }) {
    const mib = limitBytes / (1024 * 1024);
    const extra = { limit: `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB`, limitBytes };
    const tooLarge = (req, res) => {
        lingerOnClose(req.socket, lingerMs);
        refusals.answer(req, res, 413, 'request body too large', { extra });
    };

    return function limitBody(req, res, next) {
        const length = req.headers['content-length'];
        if (length !== undefined) {
            if (Number(length) > limitBytes) return tooLarge(req, res);
            return next();
        }
        if (req.headers['transfer-encoding'] === undefined || req.complete) return next();
        holdChunked(req, limitBytes, (over) => (over ? tooLarge(req, res) : next()));
    };
}

// The client is likely still sending the body when the 413 goes out. Node reads and drops the rest
// (its parser goes on); were the connection closed now, with unread bytes, the kernel would reset it
// and the client could lose the answer. So, as nginx's lingering close: stop writing, read on until
// the client is done (or lingerMs passed), then close.
function lingerOnClose(socket, lingerMs) {
    if (socket.lingering) return;
    socket.lingering = true;
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    // Node's server calls destroySoon() once a response that closes the connection is out.
    socket.destroySoon = function lingeringClose() {
        if (this.writable) this.end();
    };
}

// Node's HTTP parser hands body chunks to req.push(); until the last one (push(null)) they are kept
// here, then handed on in order. Bytes already buffered in the stream count towards the limit.
function holdChunked(req, limitBytes, done) {
    const push = req.push;
    const chunks = [];
    let size = req.readableLength;
    let over = size > limitBytes;
    if (over) {
        done(true);
        return;
    }
    req.push = function holding(chunk, encoding) {
        if (chunk === null) {
            req.push = push;
            if (!over) {
                for (const c of chunks) push.call(req, c, encoding);
                done(false);
            }
            return push.call(req, null);
        }
        if (!over) {
            size += chunk.length;
            if (size > limitBytes) {
                over = true;
                chunks.length = 0;
                done(true);
            } else {
                chunks.push(chunk);
            }
        }
        return true; // keep reading: memory is bounded by the limit, the rest is dropped
    };
}

module.exports = { bodyLimit };
