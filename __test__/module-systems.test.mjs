// The package works from `import` and from `require`, as one instance per thread.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as esm from 'slotmetrics';

const require = createRequire(import.meta.url);

test('import and require give the same module, so metrics are not duplicated', async () => {
  const cjs = require('slotmetrics');
  assert.equal(esm.counterSchema, cjs.counterSchema);
  assert.equal(esm.registry, cjs.registry);
  const a = esm.counterSchema('dual_total').help('h').build();
  const b = cjs.counterSchema('dual_total').help('h').build();
  assert.equal(a, b);
  a.increment();
  b.increment();
  assert.match(await cjs.registry.metrics(), /^dual_total 2$/m);
});

test('the package ships its type declarations', () => {
  const pkg = require('slotmetrics/package.json');
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
  const declarations = require('node:fs').readFileSync(require.resolve('slotmetrics').replace(/\.js$/, '.d.ts'), 'utf8');
  assert.match(declarations, /counterSchema/);
});
