// Builds the committed dashboard in dist/. The output must be byte-identical
// from one run to the next (CI rebuilds and diffs dist/), so nothing here may
// depend on time, absolute paths or the environment: file names carry
// content hashes, and index.html is written from the metafile.

import { build } from 'esbuild';
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/assets', { recursive: true });

const result = await build({
  entryPoints: { app: 'src/main.tsx' },
  bundle: true,
  // The replay player (rrweb) is a dynamic import: with splitting it becomes
  // its own chunk, loaded only by the replay and heatmap pages.
  splitting: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  outdir: 'dist/assets',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

let js = '';
let css = '';
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  if (out.entryPoint === 'src/main.tsx') {
    js = file.replace(/^dist\//, '/');
    if (out.cssBundle) css = out.cssBundle.replace(/^dist\//, '/');
  }
}
if (!js) throw new Error('build: no output for src/main.tsx');

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Sightline</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${css ? `<link rel="stylesheet" href="${css}">\n` : ''}<script type="module" src="${js}"></script>
</head>
<body>
<div id="app"><noscript>Sightline needs JavaScript.</noscript></div>
</body>
</html>
`;
writeFileSync('dist/index.html', html);
writeFileSync(
  'dist/favicon.svg',
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3b5bdb"/><path d="M6 20c4-9 8-13 10-13s5 5 10 13" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round"/><circle cx="16" cy="20" r="3" fill="#fff"/></svg>\n',
);
