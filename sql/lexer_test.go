package sql

import (
	"reflect"
	"testing"
)

func TestLexerTokens(t *testing.T) {
	tests := []struct {
		src  string
		want []string // token texts as written
	}{
		{"a=-1", []string{"a", "=", "-", "1"}},
		{"x <> -2 @- y", []string{"x", "<>", "-", "2", "@-", "y"}},
		{"'a'::text || $1", []string{"'a'", "::", "text", "||", "$1"}},
		{"1.5e-3 .5 1..2 0x1F 12abc", []string{"1.5e-3", ".5", "1", ".", ".2", "0x1F", "12abc"}},
		{"a+/*c*/b a--c\nb", []string{"a", "+", "b", "a", "b"}},
		{"Ünïcode_1$ $tag$x$tag$ $ $n", []string{"Ünïcode_1$", "$tag$x$tag$", "$", "$n"}},
		{"{'k': [1]}", []string{"{", "'k'", ":", "[", "1", "]", "}"}},
	}
	for _, tt := range tests {
		l := lexer{src: tt.src}
		var got []string
		for {
			tok, err := l.next()
			if err != nil {
				t.Fatalf("lex %q: %v", tt.src, err)
			}
			if tok.kind == tokEOF {
				break
			}
			got = append(got, tt.src[tok.start:tok.end])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("lex %q\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

func TestFoldIdent(t *testing.T) {
	l := lexer{src: "MiXeD_Ä \xffAB"}
	a, _ := l.next()
	b, _ := l.next()
	if a.val != "mixed_Ä" || b.val != "\xffab" {
		t.Errorf("folded %q %q", a.val, b.val)
	}
}
