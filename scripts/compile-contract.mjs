#!/usr/bin/env node
// Compiles contracts/ChiralChannels.sol with the npm `solc` pinned in tests/package.json
// (standard JSON, optimizer on at 200 runs, no metadata hash, so the output is reproducible)
// and writes contracts/ChiralChannels.json:
//   {"compiler", "abi", "bytecode" (creation, 0x hex), "deployedBytecode" (runtime, 0x hex)}.
//
//   node scripts/compile-contract.mjs            write the JSON
//   node scripts/compile-contract.mjs --out F    write it to F instead
//   node scripts/compile-contract.mjs --check    exit 1 unless the committed JSON is what solc gives
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "tests", "package.json"));
let solc;
try {
  solc = require("solc");
} catch {
  console.error("the npm solc package is not installed: run scripts/setup.sh test (or npm ci in tests/)");
  process.exit(2);
}

const NAME = "ChiralChannels";
const sourcePath = `contracts/${NAME}.sol`;
const jsonPath = join(root, "contracts", `${NAME}.json`);
const pinned = JSON.parse(readFileSync(join(root, "tests", "package.json"), "utf8")).dependencies.solc;
const installed = require("solc/package.json").version;
if (installed !== pinned) {
  console.error(`solc ${installed} is installed but tests/package.json pins ${pinned}: run npm ci in tests/`);
  process.exit(2);
}

const input = {
  language: "Solidity",
  sources: { [sourcePath]: { content: readFileSync(join(root, sourcePath), "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    // paris, not shanghai: the Geth network's genesis (relay/genesis.json) stops at London, so
    // no PUSH0; anvil runs either.
    evmVersion: "paris",
    metadata: { bytecodeHash: "none" },
    outputSelection: { [sourcePath]: { [NAME]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const contract = output.contracts[sourcePath][NAME];
const artifact = {
  compiler: solc.version(),
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
  deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + "\n";

const args = process.argv.slice(2);
if (args[0] === "--check") {
  let committed = "";
  try {
    committed = readFileSync(jsonPath, "utf8");
  } catch {}
  if (committed !== text) {
    console.error(`${jsonPath} differs from what solc ${solc.version()} compiles: run node scripts/compile-contract.mjs`);
    process.exit(1);
  }
  console.log(`${NAME}.json matches solc ${solc.version()}`);
} else {
  const out = args[0] === "--out" && args[1] ? args[1] : jsonPath;
  writeFileSync(out, text);
  console.log(`wrote ${out} (${(contract.evm.deployedBytecode.object.length / 2) | 0} bytes of runtime code)`);
}
