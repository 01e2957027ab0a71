// Container health check of a replica set member. On member 0 it is also the reconciler: it initiates
// the set once, then adds or removes one member per run (MongoDB allows one voting change per
// reconfig) until the configuration lists exactly MONGO_RS_MEMBERS. Running it again changes nothing.
const setName = process.env.MONGO_REPLICA_SET;
const wanted = process.env.MONGO_RS_MEMBERS.split(",");
const reconciler = process.env.MONGO_RS_RECONCILER === "true";
const member = (id, host) => ({ _id: id, host, priority: host === wanted[0] ? 2 : 1 });

let status;
try {
    status = rs.status();
} catch (e) {
    if (reconciler && e.codeName === "NotYetInitialized") {
        rs.initiate({ _id: setName, members: [member(0, wanted[0])] });
        print(`initiated replica set ${setName} with ${wanted[0]}`);
    }
    quit(1);
}

const hello = db.hello();
const unreachable = (host) => (status.members.find((s) => s.name === host) || { health: 0 }).health === 0;
if (reconciler) {
    const conf = rs.conf();
    const extra = conf.members.filter((m) => !wanted.includes(m.host));
    const missing = wanted.filter((h) => !conf.members.some((m) => m.host === h));
    if (hello.isWritablePrimary && (extra.length || missing.length)) {
        if (extra.length) {
            conf.members = conf.members.filter((m) => m.host !== extra[0].host);
            print(`removing member ${extra[0].host}`);
        } else {
            conf.members.push(member(Math.max(...conf.members.map((m) => m._id)) + 1, missing[0]));
            print(`adding member ${missing[0]}`);
        }
        conf.version += 1;
        rs.reconfig(conf);
    } else if (!hello.isWritablePrimary && extra.length && extra.every((m) => unreachable(m.host))) {
    // Scaled down: the removed members are gone, so no majority is left to elect a primary. Keep the wanted ones.
        conf.members = conf.members.filter((m) => wanted.includes(m.host));
        conf.version += 1;
        rs.reconfig(conf, { force: true });
        print(`forced configuration to ${wanted.join(",")}`);
    }
}
quit(hello.isWritablePrimary || hello.secondary ? 0 : 1);
