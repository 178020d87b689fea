// The layers, checked in CI (`npm run lint:deps`): imports point one way,
//   cli -> core -> modes -> (config, adapters) -> common
// and proxy/ is a program of its own (the machine's proxy) whose route table core writes.
// and never in a circle. Type-only imports count too: a layer that needs a type from above it has
// the type in the wrong place.
const layer = (name, mayUse) => ({
  name: `${name}-imports-only-below`,
  comment: `${name}/ may import ${mayUse.join(', ') || 'nothing of ours'}`,
  severity: 'error',
  from: { path: `^${name}/` },
  to: { path: '^(cli|core|modes|config|adapters|common|proxy)/', pathNot: [`^${name}/`, ...mayUse.map((l) => `^${l}/`)] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules that import each other (types may refer to each other: they are gone at run time)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    layer('cli', ['core', 'config', 'common']),
    layer('core', ['modes', 'config', 'adapters', 'common', 'proxy']),
    layer('modes', ['config', 'adapters', 'common']),
    layer('config', ['common']),
    layer('adapters', ['common']),
    layer('common', []),
    layer('proxy', ['common']),
  ],
  options: {
    includeOnly: '^(cli|core|modes|config|adapters|common|proxy)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
