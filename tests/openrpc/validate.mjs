// Validates OpenRPC documents with OpenRPC's own tools (@open-rpc/schema-utils-js, from the
// npm directory scripts/test fills): each document against the OpenRPC 1.3 meta-schema, and
// calls' params against the first document's methods, with its MethodCallValidator.
//
// node validate.mjs NPM_DIR CALLS.json DOCUMENT.json...
// CALLS.json: [{"method": M, "params": P, "valid": true|false}, ...]
// Prints `openrpc: N passed, M failed`; exits 1 on any failure.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [npm, callsFile, ...documents] = process.argv.slice(2);
const require = createRequire(`${npm}/`);
const { validateOpenRPCDocument, parseOpenRPCDocument, MethodCallValidator } = require("@open-rpc/schema-utils-js");

let passed = 0;
let failed = 0;
function verdict(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.error(`FAIL ${what}`);
  }
}

for (const file of documents) {
  const document = JSON.parse(readFileSync(file, "utf8"));
  const result = validateOpenRPCDocument(document);
  verdict(result === true, `${file}: ${result === true ? "" : JSON.stringify(result).slice(0, 2000)}`);
}

const validator = new MethodCallValidator(await parseOpenRPCDocument(JSON.parse(readFileSync(documents[0], "utf8"))));
for (const { method, params, valid } of JSON.parse(readFileSync(callsFile, "utf8"))) {
  const errors = validator.validate(method, params);
  verdict((errors.length === 0) === valid, `${method}(${JSON.stringify(params)}): ${errors.map(String).join("; ") || "no errors"}`);
}

console.log(`openrpc: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
