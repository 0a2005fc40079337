// What the prom-client entries' module objects carry beside their exports: prom-client's
// settable `contentType`, and a `default` for compiled default imports.

import { globalRegistry, type RegistryContentType } from './registry';

/**
 * Defines on an entry's module object (`exports`, or `module.exports` of a CommonJS
 * entry) `contentType`, the global registry's and settable, as prom-client's is; and a
 * non-enumerable `default`, the module itself: `import client from 'prom-client'`
 * compiled by TypeScript, tsx, esbuild or Babel reads `.default` of a module marked
 * `__esModule`, as a compiled entry is, where prom-client is plain CommonJS whose
 * default import is the module. Not enumerable, so the entry's names stay the library's.
 */
export function defineModuleProperties(entry: object): void {
  Object.defineProperty(entry, 'default', { value: entry });
  Object.defineProperty(entry, 'contentType', {
    enumerable: true,
    get() {
      return globalRegistry.contentType;
    },
    set(value: RegistryContentType) {
      globalRegistry.setContentType(value);
    },
  });
}
