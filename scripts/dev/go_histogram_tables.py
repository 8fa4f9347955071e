#!/usr/bin/env python3
"""Converts upstream's Go table tests of native histograms into Rust test tables.

Used to port `model/histogram/float_histogram_test.go` tables (the facts: inputs and
expected results) into `crates/model/tests/histogram_*.rs`. Reads the Go file given (e.g.
`git show HEAD:model/histogram/float_histogram_test.go` from a Prometheus checkout) and
prints the Rust entries of one table to standard output; the test harness around them is
written by hand.

Usage: go_histogram_tables.py FILE.go TABLE
TABLE: reset | add | sub | mul | div | compact
"""
import re
import sys

TOK=re.compile(r'\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|`[^`]*`|[A-Za-z_][A-Za-z0-9_.]*|[0-9][0-9a-fA-FxX_.]*(?:[eE][+-]?[0-9]+)?|&|\{|\}|\(|\)|\[|\]|,|:|-|\+|\*|/',re.S)
def tokens(s):
    out=[];i=0
    while i<len(s):
        m=TOK.match(s,i)
        if not m: raise ValueError("bad char %r at %d: %r"%(s[i],i,s[i:i+40]))
        t=m.group(0); i=m.end()
        if t.isspace() or t.startswith('//') or t.startswith('/*'): continue
        # numbers like 1e-5: regex grabbed sign chars greedily; split '1,' etc not an issue
        out.append(t)
    return out
class P:
    def __init__(s,toks): s.t=toks; s.i=0
    def peek(s,k=0): return s.t[s.i+k] if s.i+k<len(s.t) else None
    def next(s): v=s.t[s.i]; s.i+=1; return v
    def expect(s,v):
        x=s.next()
        if x!=v: raise ValueError("expected %s got %s near %s"%(v,x,s.t[s.i-5:s.i+5]))
    def value(s):
        v=s.primary()
        while s.peek() in ('*','/','+','-'):
            op=s.next(); r=s.primary(); v=('bin',op,v,r)
        return v
    def primary(s):
        t=s.peek()
        if t=='&': s.next(); return s.value()
        if t=='{': return s.braces(None)
        if t=='[':
            s.next(); s.expect(']'); typ='[]'+s.next()
            return s.braces(typ)
        if t=='-':
            s.next(); v=s.primary(); return ('neg',v)
        if t.startswith('"'): s.next(); return ('str',eval(t))
        if re.match(r'[0-9]',t): s.next(); return ('num',t)
        if re.match(r'[A-Za-z_]',t):
            s.next()
            if s.peek()=='(':
                s.next(); args=[]
                while s.peek()!=')':
                    args.append(s.value())
                    if s.peek()==',': s.next()
                s.next(); 
                v=('call',t,args)
            elif s.peek()=='{' : v=s.braces(t)
            else: v=('ident',t)
            return v
        raise ValueError("unexpected %r"%t)
    def braces(s,typ):
        s.expect('{'); items=[]
        while s.peek()!='}':
            if re.match(r'[A-Za-z_]',s.peek() or '') and s.peek(1)==':':
                k=s.next(); s.next(); items.append((k,s.value()))
            else: items.append((None,s.value()))
            if s.peek()==',': s.next()
        s.next()
        return ('lit',typ,items)

HINTS={'UnknownCounterReset':'CounterResetHint::Unknown','CounterReset':'CounterResetHint::CounterReset','NotCounterReset':'CounterResetHint::NotCounterReset','GaugeType':'CounterResetHint::Gauge'}
def fnum(v):
    k=v[0]
    if k=='num':
        t=v[1]
        if re.match(r'^[0-9]+$',t): return t+'.0'
        if re.match(r'^[0-9]+e',t): t=t.replace('e','.0e',1)
        return t
    if k=='neg': return '-'+fnum(v[1])
    if k=='call':
        if v[1]=='math.Inf':
            a=v[2][0]
            return 'f64::NEG_INFINITY' if a[0]=='neg' else 'f64::INFINITY'
        if v[1]=='math.NaN': return 'f64::NAN'
        if v[1]=='float64': return fnum(v[2][0])
    if k=='ident':
        if v[1]=='math.MaxFloat64': return 'f64::MAX'
        if v[1]=='math.SmallestNonzeroFloat64': return 'f64::from_bits(1)'
    if k=='bin': return '(%s %s %s)'%(fnum(v[2]),v[1],fnum(v[3]))
    raise ValueError("float? %r"%(v,))
def inum(v):
    if v[0]=='num': return v[1]
    if v[0]=='neg': return '-'+inum(v[1])
    if v[0]=='ident' and v[1]=='CustomBucketsSchema': return 'CUSTOM_BUCKETS_SCHEMA'
    raise ValueError("int? %r"%(v,))
def spans(v):
    if v==('ident','nil'): return 'vec![]'
    assert v[0]=='lit'
    out=[]
    for _,item in v[2]:
        vals=[x for _,x in item[2]]
        keys=[k for k,_ in item[2]]
        if keys[0] is None: o,l=vals
        else:
            d=dict(item[2]); o=d.get('Offset',('num','0')); l=d.get('Length',('num','0'))
        out.append('Span::new(%s, %s)'%(inum(o),inum(l)))
    return 'vec![%s]'%', '.join(out)
def floats(v):
    if v==('ident','nil'): return 'vec![]'
    assert v[0]=='lit'
    return 'vec![%s]'%', '.join(fnum(x) for _,x in v[2])
FIELDS={'Schema':('schema',inum),'ZeroThreshold':('zero_threshold',fnum),'ZeroCount':('zero_count',fnum),'Count':('count',fnum),'Sum':('sum',fnum),
 'PositiveSpans':('positive_spans',spans),'NegativeSpans':('negative_spans',spans),'PositiveBuckets':('positive_buckets',floats),'NegativeBuckets':('negative_buckets',floats),
 'CustomValues':('custom_values',floats),'CounterResetHint':('counter_reset_hint',lambda v: HINTS[v[1]])}
def fh(v):
    if v[0]=='ident' and v[1]=='nil': return None
    assert v[0]=='lit' and v[1]=='FloatHistogram', v[:2]
    parts=[]
    for k,x in v[2]:
        name,f=FIELDS[k]
        parts.append('%s: %s'%(name,f(x)))
    if not parts: return 'FloatHistogram::default()'
    return 'FloatHistogram { %s, ..Default::default() }'%', '.join(parts)
def cases(src, func):
    body=src[src.index('func %s('%func):]
    start=body.index('cases := []struct')
    body=body[start:]
    # skip struct type decl
    i=body.index('}{',0)+1
    end=body.index('\n\tfor ')
    p=P(tokens(body[i:end]))
    return p.braces(None)


def reset_rows(src):
    rows = []
    for _, c in cases(src, 'TestFloatHistogramDetectReset')[2]:
        vals = [x for _, x in c[2]]
        rows.append('        (\n            %s,\n            %s,\n            %s,\n            %s,\n        ),' % (
            quote(vals[0][1]), fh(vals[1]), fh(vals[2]), vals[3][1]))
    return rows


def add_rows(src, func):
    rows = []
    for _, c in cases(src, func)[2]:
        d = dict(c[2])
        exp = fh(d['expected']) if 'expected' in d else None
        rows.append('        Case {\n            name: %s,\n            in1: %s,\n            in2: %s,\n            expected: %s,\n            err: %s,\n            collision: %s,\n            reconciled: %s,\n        },' % (
            quote(d['name'][1]), fh(d['in1']), fh(d['in2']), ('Some(%s)' % exp) if exp else 'None',
            quote(d['expErrMsg'][1] if 'expErrMsg' in d else ''),
            d.get('expCounterResetCollision', ('ident', 'false'))[1],
            d.get('expNHCBBoundsReconciled', ('ident', 'false'))[1]))
    return rows


def scale_rows(src, func, in_key, factor_key):
    rows = []
    for _, c in cases(src, func)[2]:
        items = c[2]
        if items[0][0] is None:
            vals = [x for _, x in items]
            d = {'name': vals[0], in_key: vals[1], factor_key: vals[2], 'expected': vals[3]}
        else:
            d = dict(items)
        rows.append('        (\n            %s,\n            %s,\n            %s,\n            %s,\n        ),' % (
            quote(d['name'][1]), fh(d[in_key]), fnum(d[factor_key]), fh(d['expected'])))
    return rows


def compact_rows(src):
    rows = []
    for _, c in cases(src, 'TestFloatHistogramCompact')[2]:
        vals = [x for _, x in c[2]]
        rows.append('        (\n            %s,\n            %s,\n            %s,\n            %s,\n        ),' % (
            quote(vals[0][1]), fh(vals[1]), inum(vals[2]), fh(vals[3])))
    return rows


def quote(text):
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src = open(sys.argv[1]).read()
    table = sys.argv[2]
    rows = {
        'reset': lambda: reset_rows(src),
        'add': lambda: add_rows(src, 'TestFloatHistogramAdd'),
        'sub': lambda: add_rows(src, 'TestFloatHistogramSub'),
        'mul': lambda: scale_rows(src, 'TestFloatHistogramMul', 'in', 'scale'),
        'div': lambda: scale_rows(src, 'TestFloatHistogramDiv', 'fh', 's'),
        'compact': lambda: compact_rows(src),
    }.get(table)
    if rows is None:
        sys.exit(__doc__)
    out = rows()
    print('%d rows' % len(out), file=sys.stderr)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
