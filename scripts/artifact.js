#!/usr/bin/env node
// Prints one part of a forge artifact: `abi` (JSON) or `bin` (creation bytecode hex).
// Usage: node scripts/artifact.js contracts/out/X.sol/X.json abi|bin
const fs = require("fs");
const [file, part] = process.argv.slice(2);
const art = JSON.parse(fs.readFileSync(file, "utf8"));
if (part === "abi") process.stdout.write(JSON.stringify(art.abi));
else if (part === "bin") process.stdout.write(art.bytecode.object.replace(/^0x/, ""));
else { console.error("usage: artifact.js FILE abi|bin"); process.exit(2); }
