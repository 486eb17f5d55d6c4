package sql

import (
	"strconv"
	"strings"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Option lists, ( key [= value] [, ...] ), and the values of options and
// partitions.

// optionList parses ( key [= value] [, ...] ). Keys fold to lower case; a
// key without a value is true; a key given twice is an error.
func (p *parser) optionList() ([]Option, error) {
	var opts []Option
	err := p.commaList(func() error {
		t := p.peek()
		key, err := p.label()
		if err != nil {
			return err
		}
		opt := Option{Key: key, Value: Value{Kind: ValueBool, Text: "true"}, Pos: charPos(p.src, t.start)}
		if p.acceptOp("=") {
			if opt.Value, err = p.optionValue(); err != nil { // secrets.go
				return err
			}
		}
		for _, prev := range opts {
			if prev.Key == key {
				return pgerr.Syntax(opt.Pos, `option "%s" specified more than once`, key)
			}
		}
		opts = append(opts, opt)
		return nil
	})
	return opts, err
}

// value parses an option or partition value: a string, a possibly signed
// number, true/false/on/off, or a bare word.
func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return Value{Kind: ValueString, Text: t.val}, nil
	case tokNumber:
		if isNumber(t.val) {
			return Value{Kind: ValueNumber, Text: numberText(t.val)}, nil
		}
	case tokIdent:
		switch t.val {
		case "true", "on":
			return Value{Kind: ValueBool, Text: "true"}, nil
		case "false", "off":
			return Value{Kind: ValueBool, Text: "false"}, nil
		}
		return Value{Kind: ValueIdent, Text: t.val}, nil
	case tokQuotedIdent:
		return Value{Kind: ValueIdent, Text: t.val}, nil
	case tokOp:
		if n := p.peek(); (t.val == "-" || t.val == "+") && n.kind == tokNumber && isNumber(n.val) {
			p.skip(1)
			return Value{Kind: ValueNumber, Text: strings.TrimPrefix(t.val, "+") + numberText(n.val)}, nil
		}
	}
	return Value{}, p.syntaxError(t)
}

// isNumber reports whether a number token is a valid numeric literal (and not
// digits followed by junk, such as 12abc).
func isNumber(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err == nil || isRangeErr(err) {
		return true
	}
	_, err := strconv.ParseInt(s, 0, 64)
	return err == nil || isRangeErr(err)
}

// numberText is a numeric literal without its digit-separating underscores
// (1_000 is 1000), as PostgreSQL reads it.
func numberText(s string) string { return strings.ReplaceAll(s, "_", "") }

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
