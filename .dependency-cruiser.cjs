/**
 * Imports run one way (ARCHITECTURE.md, "Imports"): each top-level folder of src/ may
 * import only the folders listed for it, so the folders form a graph without cycles and
 * no stage depends on the web page, the composition root, the CLI or the simulators.
 * `npm run lint:imports` checks it; `npm test` runs that.
 */

/** folder → the other folders it may import. */
const mayImport = {
  core: [],
  config: ['core'],
  adapters: ['core', 'config'],
  machine: ['core', 'config'],
  outbox: ['core', 'config', 'machine'],
  uplink: ['core', 'config', 'outbox', 'machine'],
  web: ['core', 'config'],
  sim: ['core', 'config', 'adapters'],
  gateway: ['core', 'config', 'adapters', 'machine', 'outbox', 'uplink', 'web'],
};
const folders = [...Object.keys(mayImport), 'cli'];

const under = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    ...Object.entries(mayImport).map(([folder, allowed]) => ({
      name: `${folder}-imports-only-${allowed.length ? allowed.join('-') : 'itself'}`,
      severity: 'error',
      from: { path: under([folder]) },
      to: { path: '^src/', pathNot: under([folder, ...allowed]) },
    })),
    {
      name: 'outside-the-layout',
      comment: `a module of src/ belongs in one of: ${folders.join(', ')}`,
      severity: 'error',
      from: { path: '^src/', pathNot: under(folders) },
      to: {},
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/[^/]+/?$' },
      to: { circular: true, path: '^src/[^/]+/?$' },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import the checker cannot follow would slip past every rule above',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
