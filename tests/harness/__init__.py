"""Real-process test harness: SecantusDB/MongoDB, Node-RED instances, the editor's admin API, test flows."""
