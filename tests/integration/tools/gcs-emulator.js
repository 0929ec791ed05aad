// gcs-emulator.js - the Cloud Storage emulator of npm's firebase-tools (pinned in
// gcs-emulator-install.sh), started without the firebase CLI, which wants Java 21 and a
// download neither of which a test machine has (facts: shared notes, test-servers.md).
//
// Usage: node gcs-emulator.js FIREBASE_TOOLS_DIR PORT
// Serves the JSON API (media, multipart and single-request resumable uploads, alt=media
// downloads with Range, metadata, listing with pageToken, delete) on 127.0.0.1:PORT with no
// auth; buckets are made on first use; blobs go under $TMPDIR/firebase/storage/blobs.
// Prints "ready" once it listens. SIGTERM stops it.
"use strict";
const path = require("path");
const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
    console.error("usage: node gcs-emulator.js FIREBASE_TOOLS_DIR PORT");
    process.exit(2);
}
const lib = path.join(dir, "node_modules", "firebase-tools", "lib", "emulator");
const runtime = require(path.join(lib, "storage", "rules", "runtime"));
// The JSON API routes use the admin storage layer and never evaluate security rules: the
// rules runtime (a Java process and a jar download) is not needed.
runtime.StorageRulesRuntime.prototype.start = async function () {};
runtime.StorageRulesRuntime.prototype.stop = async function () {};
const { StorageEmulator } = require(path.join(lib, "storage", "index"));
const { EmulatorRegistry } = require(path.join(lib, "registry"));

const emulator = new StorageEmulator({
    projectId: "offsite-test", host: "127.0.0.1", port: Number(port), rules: [],
    auto_download: false,
});
EmulatorRegistry.start(emulator).then(
    () => console.log("ready"),
    (e) => { console.error("gcs-emulator: " + (e && e.stack || e)); process.exit(1); });
process.on("SIGTERM", () => process.exit(0));
