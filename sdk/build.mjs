// Builds the committed bundles in dist/. The output must be byte-identical
// from one run to the next (CI rebuilds and diffs dist/), so nothing here
// may depend on time, paths or the environment.

import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import ts from 'typescript';

const common = {
  bundle: true,
  minify: true,
  target: 'es2019',
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

mkdirSync('dist', { recursive: true });

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/sightline.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/esm.ts'], outfile: 'dist/sightline.esm.js', format: 'esm' });
await build({
  ...common,
  entryPoints: ['src/recorder.ts'],
  outfile: 'dist/recorder.js',
  format: 'iife',
  banner: { js: '/*! Sightline replay recorder. Bundles rrweb (MIT License, Copyright (c) 2018 Contributors (https://github.com/rrweb-io/rrweb/graphs/contributors) and SmartX Inc.) */' },
});

// Declarations: the public types (src/api.ts) plus the ESM exports.
const api = ts.transpileDeclaration(readFileSync('src/api.ts', 'utf8'), {
  fileName: 'api.ts',
  compilerOptions: { removeComments: false },
}).outputText;
writeFileSync(
  'dist/sightline.d.ts',
  '// Types for the Sightline browser SDK (sightline.esm.js). Generated from src/api.ts.\n' +
    api +
    '/** The SDK instance; call init() once. */\nexport declare const sightline: Sightline;\nexport default sightline;\n',
);
