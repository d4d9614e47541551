// Every relative link in the packed README, docs and examples resolves to a file in the package.
// Usage: node check-links.mjs <extracted package dir>
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2]);
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (name === 'node_modules') continue; // bundled dependencies keep their own docs
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.md')) files.push(full);
  }
};
walk(root);
const broken = [];
let checked = 0;
for (const file of files) {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1];
    if (/^(https?:|mailto:|#)/.test(target)) continue;
    checked++;
    const clean = decodeURIComponent(target.split('#')[0]);
    if (!existsSync(path.resolve(path.dirname(file), clean))) broken.push(`${path.relative(root, file)}: ${target}`);
  }
}
if (broken.length > 0) {
  console.error(`broken relative links in the package (${broken.length}):\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log(`ok - ${checked} relative links in ${files.length} packed markdown files resolve`);
