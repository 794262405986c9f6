// Just enough PromQL reading to list the series names a query selects, so
// tests can check them against the metrics that really exist.

const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Series names selected by a PromQL expression (or by a Grafana
 * `label_values(selector, label)` variable query).
 */
export function referencedSeriesNames(expr: string): string[] {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(expr);
  const source = labelValues?.[1] ?? expr;
  const stripped = source
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names = new Set<string>();
  const token = /\d+(?:\.\d+)?(?:e[+-]?\d+)?|[a-zA-Z_:][a-zA-Z0-9_:]*/gi;
  for (let match = token.exec(stripped); match; match = token.exec(stripped)) {
    const word = match[0];
    if (/^\d/.test(word) || keywords.has(word.toLowerCase())) continue;
    const rest = stripped.slice(token.lastIndex);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    names.add(word);
  }
  return [...names];
}
