// Pieces the Alerts and Rules pages share: a rule's expression (linked to the query page,
// as Prometheus links it) and a time cell (how long ago, the exact time in the tooltip).
import { prefix } from '../api.js';
import { formatTime, h, relativeTime } from '../util.js';

/** The expression in a code block, with a link that opens it in the query page's table. */
export function ruleExpr(query) {
  const expr = String(query ?? '');
  const href = `${prefix}/query?${new URLSearchParams({ 'g0.expr': expr, 'g0.tab': 'table' })}`;
  return h('div', { class: 'rule-expr' }, h('a', { href, class: 'mono', title: 'Open in the query page' }, expr));
}

/** A table cell with "3.2s ago" for an RFC 3339 time; "never" for the zero time. */
export function timeCell(text) {
  const t = Date.parse(String(text ?? ''));
  if (!Number.isFinite(t) || t <= 0) return h('td', {}, h('span', { class: 'muted' }, 'never'));
  return h('td', { title: `${formatTime(t)} (local), ${new Date(t).toISOString()}` }, relativeTime(t));
}

/** Seconds of evaluation as "12.3ms" under a second, "1.234s" above. */
export function formatEvalTime(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  if (seconds < 1) {
    const ms = seconds * 1000;
    return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}ms`;
  }
  return `${seconds.toFixed(3)}s`;
}
