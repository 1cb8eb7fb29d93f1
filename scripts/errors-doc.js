#!/usr/bin/env node
// Regenerates docs/errors.md from the catalog (run after `npm run build`); test/errors checks it.
const fs = require('node:fs');
const path = require('node:path');
const { ERRORS } = require('../dist/src/errors/catalog');
const { CKR } = require('../dist/src/pkcs11/constants');
const ckrName = (v) => 'CKR_' + Object.entries(CKR).find(([, x]) => x === v)[0];
let out = `# Error codes

Every failure Inkan reports carries one stable code from \`src/errors/catalog.ts\`. The admin API
answers \`{"error": {"code", "message"}}\` with the HTTP status below; the PKCS#11 face returns the
CKR value; the KMS face returns the \`__type\` and status. \`test/errors/catalog.test.ts\` checks
this table against the catalog, so it cannot drift (regenerate it with \`node scripts/errors-doc.js\`).

| code | HTTP | PKCS#11 | KMS __type (status) | meaning |
|---|---|---|---|---|
`;
for (const [k, v] of Object.entries(ERRORS)) {
  out += `| \`${k}\` | ${v.status} | ${ckrName(v.ckr)} | ${v.kmsType} (${v.kmsStatus}) | ${v.message.replace(/\|/g, '\\|')} |\n`;
}
out += '\nMessages are safe to show to the caller: they never contain key material, plaintexts or passwords.\nAnything unexpected is answered as `INTERNAL`; its detail goes only to the server log.\n';
fs.writeFileSync(path.join(__dirname, '..', 'docs', 'errors.md'), out);
