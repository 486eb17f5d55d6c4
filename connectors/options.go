// Package connectors holds what every connector shares: declared, typed
// options validated from the same declaration that documents them. Each
// connector lives in a sub-package and is registered explicitly by the
// gateway.
package connectors

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// OptionType is the type of an option's value.
type OptionType int

const (
	String OptionType = iota
	Bool
	Int
	Enum
)

// OptionSpec declares one option of a connector.
type OptionSpec struct {
	Name    string
	Type    OptionType
	Values  []string // Enum: the allowed values (lower case)
	Default string   // "" = none
	Doc     string
	// Unsupported, when set, makes the option a 0A000 error with this reason.
	Unsupported string
	// Secret marks a credential (a password, a token): besides x = 'value'
	// it may be given as x = SECRET name, x_env = 'VARIABLE' or x_file =
	// '/path', it is stored apart from the source's displayed options, and
	// shown only as that reference or ******** (credentials.go).
	Secret bool
	// Redact, for a Secret option whose value is more than the secret (a
	// connection string holding a password), is the value as it may be
	// shown, the secret parts masked; nil shows ********.
	Redact func(string) string
}

// Specs is a connector's option declarations.
type Specs []OptionSpec

// Validate checks raw options (key → value text) against the declarations
// and returns them normalised (bools as "true"/"false", enums lower case).
// An unknown option or a bad value is a 22023 error naming the option.
func (specs Specs) Validate(connector string, raw map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		spec, ok := specs.lookup(k)
		if !ok {
			return nil, pgerr.New(pgerrcode.InvalidParameterValue, "unknown option %q for %s sources (valid options: %s)", k, connector, specs.names())
		}
		if spec.Unsupported != "" {
			return nil, pgerr.Unsupported("option %q for %s sources is not supported: %s", k, connector, spec.Unsupported)
		}
		norm, err := spec.normalise(v)
		if err != nil {
			return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option %q: %v", k, err)
		}
		out[k] = norm
	}
	return out, nil
}

func (specs Specs) lookup(name string) (OptionSpec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return OptionSpec{}, false
}

func (specs Specs) names() string {
	n := make([]string, 0, len(specs))
	for _, s := range specs {
		if s.Unsupported == "" {
			n = append(n, s.Name)
		}
	}
	return strings.Join(n, ", ")
}

func (s OptionSpec) normalise(v string) (string, error) {
	switch s.Type {
	case Bool:
		switch strings.ToLower(v) {
		case "true", "on", "yes", "1":
			return "true", nil
		case "false", "off", "no", "0":
			return "false", nil
		}
		return "", fmt.Errorf("%q is not a boolean", v)
	case Int:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "", fmt.Errorf("%q is not an integer", v)
		}
	case Enum:
		lv := strings.ToLower(v)
		for _, allowed := range s.Values {
			if lv == allowed {
				return lv, nil
			}
		}
		return "", fmt.Errorf("%q is not one of %s", v, strings.Join(s.Values, ", "))
	}
	return v, nil
}

// Markdown is the declarations as a Markdown table (docs/connectors.md
// holds these tables verbatim, checked by a test).
func (specs Specs) Markdown() string {
	var b strings.Builder
	b.WriteString("| option | type | default | meaning |\n|---|---|---|---|\n")
	for _, s := range specs {
		typ := [...]string{String: "text", Bool: "boolean", Int: "integer", Enum: "one of"}[s.Type]
		if s.Type == Enum {
			typ = strings.Join(s.Values, " \\| ")
		}
		if s.Secret {
			typ = "credential"
		}
		doc := s.Doc
		if s.Unsupported != "" {
			doc = "not supported: " + s.Unsupported
		}
		def := s.Default
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, typ, def, strings.ReplaceAll(doc, "|", "\\|"))
	}
	return b.String()
}
