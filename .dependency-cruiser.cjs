// The layer rules of DESIGN.md ("Layers") as dependency-cruiser rules, checked over the
// TypeScript sources by test/architecture/layers.test.ts on every `npm test` (`npm run layers`
// prints the report). dependency-cruiser 17: the newest major that supports Node 20.
//
// Where each folder sits, top (may import more) to bottom (may import less):
//
//   console/     the web console's browser code (hand-written ES modules served as files by
//                api/admin/console/ui.ts): a client of the admin API over HTTP like cli/, so it
//                imports nothing of src/ but itself, and nothing in src/ imports it.
//   cli/         the `inkan` command: a client of the admin API over HTTP. It imports no
//                layer of the module; `inkan serve` loads server.ts, and only lazily.
//   server.ts    the composition root: wiring, listeners, shutdown. May import any layer.
//   runtime/     what the composition root wires with that touches the machine (dev mode,
//                scheduled backups, tamper watch, anchor files). May import any layer below it.
//   api/         the faces' semantics (PKCS#11, KMS, admin, metrics). DESIGN.md draws
//                protocol/ above api/ because bytes reach it first; in code the face drives
//                the codec (api/p11/connection.ts feeds frames to protocol/p11rpc), so api/
//                imports protocol/ and never the reverse.
//   protocol/    codecs and transports (p11-kit RPC, KMS JSON + SigV4): the first trust
//                boundary. It knows no operations, so it imports no api/, core/, keystore/
//                or mechanisms/; crypto/ only for SigV4's HMAC and hashes.
//   core/        the module: objects, policy gate, users, audit. Imports keystore/ below it.
//   mechanisms/  the one registry of MechanismDef. Imports crypto/.
//   keystore/    the sealed store, below core: imports only errors/, crypto/ and itself.
//   audit-chain/ the audit record format, chains and the offline verifier: needs only crypto/
//                (and keystore/'s row types), so both the module and `inkan audit verify` use it.
//   quorum-token/ the quorum token format, signing and verifying: crypto/ only, so both the module
//                and `inkan quorum approve` (which signs on the approver's machine) use it.
//   crypto/      the only importer of node:crypto.
//   errors/      HsmError and the catalog; imports only pkcs11/ (CKR values) and itself.
//   pkcs11/      PKCS#11 constants; imports nothing.
//   logger.ts    the Logger interface and factory; imports nothing, so every layer may take a Logger.
//
// errors/, pkcs11/ and logger.ts are the foundation: every layer may import them.
// Importing further down than the next layer is allowed (api/ may use crypto/ directly);
// importing upward never is. Type-only imports count (tsPreCompilationDeps).

/** Everything a layer may import besides its own folder: the foundation. */
const FOUNDATION = '^src/(errors|pkcs11)/|^src/logger\\.ts$';

/** A rule that lets files under `from` import only `allowed` (regex) inside src/. */
function onlyImports(name, comment, from, allowed) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { path: '^src/', pathNot: `${allowed}|${FOUNDATION}` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'pkcs11-imports-nothing',
      comment: 'src/pkcs11/ is constants only: not even the foundation (errors/ imports it).',
      severity: 'error',
      from: { path: '^src/pkcs11/' },
      to: { path: '^src/', pathNot: '^src/pkcs11/' },
    },
    {
      name: 'errors-import-only-pkcs11',
      comment: 'errors/ is the foundation every layer reports through (STYLE.md "One error type"): '
        + 'it may use the CKR values of pkcs11/ and nothing above it, in particular not protocol/.',
      severity: 'error',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/(errors|pkcs11)/' },
    },
    {
      name: 'logger-imports-nothing',
      comment: 'logger.ts is importable from every layer, so it must import nothing from src/.',
      severity: 'error',
      from: { path: '^src/logger\\.ts$' },
      to: { path: '^src/' },
    },
    onlyImports('crypto-imports-only-foundation',
      'crypto/ is the bottom layer of the module (DESIGN.md): thin adapters over node:crypto, no policy.',
      '^src/crypto/', '^src/crypto/'),
    onlyImports('keystore-imports-only-errors-and-crypto',
      'keystore/ sits below core/ (DESIGN.md): the sealed store knows no objects, policy or faces.',
      '^src/keystore/', '^src/(keystore|crypto)/'),
    onlyImports('mechanisms-import-only-crypto',
      'mechanisms/ is below core/: a MechanismDef never checks policy (DESIGN.md) and never stores.',
      '^src/mechanisms/', '^src/(mechanisms|crypto)/'),
    onlyImports('audit-chain-imports-only-crypto',
      'audit-chain/ is the offline verifier\'s code too: crypto/ and keystore/\'s row types only.',
      '^src/audit-chain/', '^src/(audit-chain|crypto)/|^src/keystore/types\\.ts$'),
    onlyImports('quorum-token-imports-only-crypto',
      'quorum-token/ is what an approver signs on its own machine (the CLI) and the module checks: crypto/ only.',
      '^src/quorum-token/', '^src/(quorum-token|crypto)/'),
    onlyImports('core-imports-only-below',
      'core/ is the one module under every face: it imports mechanisms/, keystore/, crypto/, never a face.',
      '^src/core/', '^src/(core|mechanisms|keystore|crypto|audit-chain|quorum-token)/'),
    onlyImports('protocol-imports-only-crypto',
      'protocol/ is the codec and transport boundary: it decodes and authenticates bytes and knows no '
        + 'operations, so it reaches no api/, core/, keystore/ or mechanisms/ (crypto/ for SigV4).',
      '^src/protocol/', '^src/(protocol|crypto)/'),
    onlyImports('api-imports-only-below',
      'api/ (the faces) drives protocol/ and asks core/; it never opens the keystore/ itself and never '
        + 'reaches the composition root (server.ts, config/) or the CLI.',
      '^src/api/', '^src/(api|protocol|core|mechanisms|crypto|quorum-token)/'),
    {
      name: 'faces-ask-the-core-not-the-policy',
      comment: 'DESIGN.md round 2, "One authority": faces ask the core, never core/policy. The gate is '
        + 'the only authorisation point, reached through core services.',
      severity: 'error',
      from: { path: '^src/(api|protocol|cli)/' },
      to: { path: '^src/core/policy/' },
    },
    onlyImports('runtime-imports-no-root-or-cli',
      'runtime/ may import every layer, but not the composition root that uses it, nor the CLI.',
      '^src/runtime/', '^src/(runtime|api|protocol|core|mechanisms|keystore|crypto|audit-chain|quorum-token)/'),
    {
      name: 'console-imports-only-itself',
      comment: 'src/console/ runs in the browser: a client of the admin API (HTTP), like the CLI. It may '
        + 'import only its own modules; the server serves its files and never imports them.',
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/', pathNot: '^src/console/' },
    },
    {
      name: 'nothing-imports-the-console',
      comment: 'The console\'s files are served as they are (api/admin/console/ui.ts reads them); no module loads them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/console/' },
      to: { path: '^src/console/' },
    },
    {
      name: 'server-imports-no-cli',
      comment: 'server.ts, the composition root, may import every layer; the CLI sits above it.',
      severity: 'error',
      from: { path: '^src/server\\.ts$' },
      to: { path: '^src/cli/' },
    },
    onlyImports('cli-imports-no-layer',
      'cli/ is a client of the admin API (HTTP); it imports no layer of the module, core/ included. '
        + 'The one way in is `inkan serve` loading the composition root, see the next rule. The one '
        + 'client transport it runs, `inkan p11-stdio --server` (protocol/p11-failover/), is a client too.',
      '^src/cli/', '^src/(cli/|audit-chain/|quorum-token/|protocol/p11-failover/|server\\.ts$)'),
    {
      name: 'cli-loads-the-server-lazily',
      comment: 'Only `inkan serve` needs the module: server.ts is loaded with a dynamic import so other '
        + 'commands start without opening the store or loading native modules.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/server\\.ts$', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'only-crypto-imports-node-crypto',
      comment: 'DESIGN.md: crypto/ is the only importer of node:crypto (either spelling), so every use of '
        + 'key material goes through one reviewed set of adapters.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/crypto/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?crypto$' },
    },
    {
      name: 'no-circular',
      comment: 'No cycles, type-only imports included: a cycle makes two files one module in disguise '
        + 'and breaks the layer order the rules above check.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-uses-no-dev-dependency',
      comment: 'A production install (npm ci --omit=dev) must be able to load every file of src/ '
        + '(type-only imports of @types/* packages vanish at compile time).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports are dependencies too: `import type` across a layer is still coupling.
    tsPreCompilationDeps: true,
    moduleSystems: ['cjs', 'es6'],
  },
};
