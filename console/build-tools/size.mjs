// Initial download of the built console: what index.html loads before any route's chunk
// (its module scripts, modulepreloads and stylesheets), raw and gzipped. Usage:
//   node build-tools/size.mjs <dist> [--max-js-gzip-kb N]   (exit 1 when the JS is over N)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = process.argv[2];
const maxIdx = process.argv.indexOf('--max-js-gzip-kb');
const max = maxIdx > 0 ? Number(process.argv[maxIdx + 1]) : Infinity;
if (!dist) {
  console.error('usage: size.mjs <dist> [--max-js-gzip-kb N]');
  process.exit(2);
}
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u.startsWith('/assets/'));
const size = { js: { raw: 0, gz: 0, files: [] }, css: { raw: 0, gz: 0, files: [] } };
for (const ref of refs) {
  const buf = readFileSync(join(dist, ref));
  const kind = ref.endsWith('.css') ? 'css' : 'js';
  size[kind].raw += buf.length;
  size[kind].gz += gzipSync(buf, { level: 9 }).length;
  size[kind].files.push(ref);
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`initial JS:  ${kb(size.js.raw)} KiB raw, ${kb(size.js.gz)} KiB gzipped (${size.js.files.join(', ')})`);
console.log(`initial CSS: ${kb(size.css.raw)} KiB raw, ${kb(size.css.gz)} KiB gzipped (${size.css.files.join(', ')})`);
if (size.js.gz / 1024 > max) {
  console.error(`initial JS is over the budget of ${max} KiB gzipped`);
  process.exit(1);
}
