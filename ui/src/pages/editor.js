// The PromQL editor: CodeMirror 6 with Prometheus's PromQL language package (highlighting,
// autocompletion of functions, metric names, label names and values from our API, and
// parse errors marked inline). Enter runs the query, Shift+Enter adds a line.
import { autocompletion, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { prefix } from '../api.js';

// Colours from the page's CSS variables, so the editor follows the theme.
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--hl-keyword)' },
  { tag: tags.function(tags.variableName), color: 'var(--hl-function)' },
  { tag: tags.labelName, color: 'var(--hl-label)' },
  { tag: tags.string, color: 'var(--hl-string)' },
  { tag: tags.number, color: 'var(--hl-number)' },
  { tag: tags.operator, color: 'var(--hl-operator)' },
  { tag: tags.modifier, color: 'var(--hl-keyword)' },
  { tag: tags.comment, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--bad)' },
]);

const theme = EditorView.theme({
  '&': { backgroundColor: 'var(--surface)', color: 'var(--text)', fontSize: '14px' },
  '.cm-content': { fontFamily: 'var(--mono)', caretColor: 'var(--text)', padding: '6px 0' },
  '&.cm-focused': { outline: 'none' },
  '.cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--selection)' },
  '.cm-tooltip': {
    backgroundColor: 'var(--surface)',
    border: '1px solid var(--border)',
    borderRadius: '4px',
    boxShadow: 'var(--shadow)',
    color: 'var(--text)',
  },
  // A little below the line, so the completions do not cover the typed text's underscores.
  '.cm-tooltip.cm-tooltip-autocomplete': { marginTop: '4px' },
  '.cm-tooltip.cm-completionInfo': { marginTop: '4px', padding: '6px 8px', maxWidth: '420px' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--surface-2)', color: 'var(--text)' },
  '.cm-completionDetail': { color: 'var(--muted)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-completionMatchedText': { textDecoration: 'none', fontWeight: '700', color: 'var(--accent)' },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--bad)' },
  '.cm-placeholder': { color: 'var(--muted)' },
});

// One completion client for every panel: its caches (metric names, metadata) are shared.
let promql = null;
function promqlExtension() {
  if (!promql) {
    promql = new PromQLExtension().setComplete({
      remote: {
        url: `${location.origin}${prefix}`,
        httpMethod: 'GET',
        cache: { maxAge: 5 * 60 * 1000 },
        // The editor's background lookups must not fill the console; a failed one just
        // completes less.
        httpErrorHandler: () => {},
      },
    });
  }
  return promql.asExtension();
}

/**
 * A PromQL editor in `parent`; `onRun` is called by Enter. Returns {view, get(), set(text)}.
 */
export function createEditor(parent, { doc = '', onRun, onChange }) {
  const run = () => {
    onRun();
    return true;
  };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        highlightSpecialChars(),
        history(),
        drawSelection(),
        closeBrackets(),
        bracketMatching(),
        autocompletion({ icons: false }),
        syntaxHighlighting(highlight),
        promqlExtension(),
        placeholder('Expression (press Shift+Enter for newlines)'),
        theme,
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'PromQL expression' }),
        // Open completions take Enter first (their keymap has the highest precedence).
        Prec.high(keymap.of([
          { key: 'Enter', run },
          { key: 'Shift-Enter', run: insertNewlineAndIndent },
        ])),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...lintKeymap]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && onChange) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    get: () => view.state.doc.toString(),
    set: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    /** Replaces the selection (or inserts at the cursor) and moves the cursor after it. */
    insert: (text) => view.dispatch(view.state.replaceSelection(text)),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
