// Writes src/version.ts from package.json, so the instrumentation scope
// version can never drift from the published version. Run by `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const { name, version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const text = `// Generated from package.json by scripts/build/version.mjs; do not edit.
/** Version of this package, reported as the instrumentation scope version. */
export const VERSION = '${version}';
export const PACKAGE_NAME = '${name}';
`;
const target = new URL('src/version.ts', root);
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {}
if (current !== text) writeFileSync(target, text);
