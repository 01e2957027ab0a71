// Runs once, on a fresh data volume: the user Node-RED connects as may read and write its own database
// and nothing else (readWrite includes the change-stream and index actions the storage module needs).
db.getSiblingDB("admin").createUser({
    user: process.env.MONGO_APP_USER,
    pwd: process.env.MONGO_APP_PASSWORD,
    roles: [{ role: "readWrite", db: process.env.MONGO_APP_DB }],
});
