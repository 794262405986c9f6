// `npm run dashboards`: writes every dashboard's JSON next to this folder.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { dashboards, renderDashboard } from './catalog.js';

const outputDir = join(dirname(fileURLToPath(import.meta.url)), '..');

for (const definition of dashboards) {
  const path = join(outputDir, definition.file);
  writeFileSync(path, renderDashboard(definition));
  console.log(`wrote ${path}`);
}
