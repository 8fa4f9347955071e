// Bundles the UI with esbuild: `node build.mjs [outdir]` (default: dist/).
// Writes index.html plus content-hashed assets/app-<hash>.js and .css; the server embeds the
// directory and replaces %PREFIX% in index.html with its route prefix.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] || join(here, 'dist'));

await rm(outdir, { recursive: true, force: true });
await mkdir(join(outdir, 'assets'), { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  outdir: join(outdir, 'assets'),
  entryNames: 'app-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => relative(outdir, resolve(p)));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild wrote no app bundle: ${outputs.join(', ')}`);
// The icon, named by its content like the bundles.
const icon = await readFile(join(here, 'src/favicon.svg'));
const iconName = `assets/favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
await writeFile(join(outdir, iconName), icon);
outputs.push(iconName);
const template = await readFile(join(here, 'src/index.html'), 'utf8');
const html = template
  .replace('%APP_CSS%', `%PREFIX%/${css}`)
  .replace('%APP_JS%', `%PREFIX%/${js}`)
  .replace('%ICON%', `%PREFIX%/${iconName}`);
await writeFile(join(outdir, 'index.html'), html);
console.log(`ui: ${outputs.concat('index.html').join(', ')} in ${outdir}`);
