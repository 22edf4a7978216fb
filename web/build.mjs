// Bundles the web UI into one folder (argument 1): index.html, app.js,
// app.css, ready to embed in the daemon (cmake/embed_assets.cmake).
// Minified, no source maps, no network: everything comes from node_modules.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, 'dist'));
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: path.join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(path.join(here, 'src/style.css'), path.join(out, 'app.css'));
await copyFile(path.join(here, 'src/index.html'), path.join(out, 'index.html'));
await copyFile(path.join(here, 'src/favicon.svg'), path.join(out, 'favicon.svg'));

// Compressed once here, at the best levels, rather than by the daemon for
// every request (brotli at its best level took 60 ms a request there).
for (const name of ['index.html', 'app.js', 'app.css', 'favicon.svg']) {
  const file = path.join(out, name);
  const data = await readFile(file);
  await writeFile(`${file}.br`, brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }));
  await writeFile(`${file}.gz`, gzipSync(data, { level: 9 }));
}
