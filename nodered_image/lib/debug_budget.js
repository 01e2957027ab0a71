'use strict';
// The budgets of debug forwarding (lib/debug_forwarder.js): token buckets, and the waiting room that
// shares a worker's budget fairly between flows, and within a flow between its nodes.

class TokenBucket {
    constructor(rate, burst, now = Date.now) {
        this.rate = rate;
        this.burst = burst;
        this.now = now;
        this.tokens = burst;
        this.at = now();
    }

    available() {
        const t = this.now();
        this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
        this.at = t;
        return this.tokens;
    }

    take(n = 1) {
        if (this.available() < n) return false;
        this.tokens -= n;
        return true;
    }

    // Spent whatever is left (the bucket may go below zero: what follows waits longer).
    charge(n) {
        this.available();
        this.tokens -= n;
    }
}

// One of each list per round, the shorter lists first within a round: what a list with little in it
// has is served before the long lists' later entries (max-min fair).
function interleave(lists) {
    lists.sort((a, b) => a.length - b.length);
    const out = [];
    let from = 0; // the lists before it are used up
    for (let i = 0; from < lists.length; i++) {
        while (from < lists.length && lists[from].length <= i) from++;
        for (let j = from; j < lists.length; j++) out.push(lists[j][i]);
    }
    return out;
}

// What a message waiting in a queue is taken to weigh before it is serialized at the flush: its text (a
// debug node's `msg` is already a string: its formatted value) and about what its other fields add.
const FIELDS_BYTES = 256;
function estimatedBytes(data) {
    return FIELDS_BYTES + (data && typeof data.msg === 'string' ? data.msg.length : 0);
}

// Messages waiting for a flush, by flow (the tab or subflow instance a node runs in: `z`) and node
// (`id`); a node's queue holds at most `perNode` messages and about `perNodeBytes` (estimatedBytes), so
// a flood of large messages waits as a second's worth of the byte budget, not of the message rate;
// what comes while it is full is dropped on arrival.
// A flush takes them all in a fair order, spends the budget in that order and puts back what it did
// not cover: a flow that floods gets only what the others leave, and a flow with one warning a second
// has it forwarded at the next flush the budget allows, whatever another flow sends.
class FairQueues {
    constructor(perNode, perNodeBytes = Infinity) {
        this.perNode = perNode;
        this.perNodeBytes = perNodeBytes;
        this.flows = new Map();
        this.size = 0;
        this.seq = 0;
    }

    queue(flow, node) {
        let nodes = this.flows.get(flow);
        if (!nodes) this.flows.set(flow, (nodes = new Map()));
        let queue = nodes.get(node);
        if (!queue) {
            queue = [];
            queue.blocked = null; // why its first message was not sent at the last flush
            queue.bytes = 0; // estimatedBytes of what it holds
            nodes.set(node, queue);
        }
        return queue;
    }

    // null when that node's queue has room, else why it is full: 'rate' or 'bytes' (the budget it
    // waited for at the last flush), else 'size' (it holds perNodeBytes) or '' (perNode messages) when
    // no flush has offered it to the budget since.
    full(flow, node) {
        const queue = this.flows.get(flow || '')?.get(node || '');
        if (!queue) return null;
        const heavy = queue.length > 0 && queue.bytes >= this.perNodeBytes;
        if (queue.length < this.perNode && !heavy) return null;
        return queue.blocked || (heavy ? 'size' : '');
    }

    // null when queued, else why it was not (as full()).
    push(data) {
        const flow = (data && typeof data.z === 'string' && data.z) || '';
        const node = (data && typeof data.id === 'string' && data.id) || '';
        const full = this.full(flow, node);
        if (full !== null) return full;
        const size = estimatedBytes(data);
        const queue = this.queue(flow, node);
        queue.push({ seq: this.seq++, at: Date.now(), data, flow, node, blocked: null, size });
        queue.bytes += size;
        this.size += 1;
        return null;
    }

    // Everything waiting, in the order the budget serves it; the queues are emptied.
    take() {
        const perFlow = [...this.flows.values()].map((nodes) => interleave([...nodes.values()]));
        this.flows = new Map();
        this.size = 0;
        return interleave(perFlow);
    }

    // What a flush did not send, back in its place; blocked: node -> the budget it waits for.
    restore(entries, blocked) {
        for (const e of entries.sort((a, b) => a.seq - b.seq)) {
            const queue = this.queue(e.flow, e.node);
            e.blocked = queue.blocked = blocked.get(e.node) || 'rate';
            queue.push(e);
            queue.bytes += e.size;
            this.size += 1;
        }
    }
}

module.exports = { TokenBucket, FairQueues, interleave };
